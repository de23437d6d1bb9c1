package iptables

import (
	"errors"
	"testing"
)

func TestFailedLine(t *testing.T) {
	for _, tc := range []struct {
		output string
		want   int
	}{
		{"iptables-nft-restore v1.8.9 (nf_tables): Chain 'NOPE' does not exist\nError occurred at line: 5\nTry `iptables-nft-restore -h'", 5},
		{"iptables-restore: line 12 failed", 12},
		{"iptables-nft-restore: line 4 failed: No chain/target/match by that name.", 4},
		{"iptables-nft-restore v1.8.9 (nf_tables): \nline 10: CHAIN_DEL failed (Device or resource busy): chain SVCCHK-SVC-X", 10},
		{"Another app is currently holding the xtables lock.", 0},
	} {
		if got := FailedLine(tc.output); got != tc.want {
			t.Errorf("FailedLine(%q) = %d, want %d", tc.output, got, tc.want)
		}
	}
}

func TestLineContext(t *testing.T) {
	data := []byte("*nat\n:A - [0:0]\n-A A -j RETURN\n-A A -j NOPE\nCOMMIT\n")
	want := "  2: :A - [0:0]\n  3: -A A -j RETURN\n> 4: -A A -j NOPE\n  5: COMMIT"
	if got := LineContext(data, 4, 2); got != want {
		t.Errorf("LineContext(4) =\n%s\nwant:\n%s", got, want)
	}
	if got := LineContext(data, 1, 1); got != "> 1: *nat\n  2: :A - [0:0]" {
		t.Errorf("LineContext(1) = %q", got)
	}
	if got := LineContext(data, 6, 2); got != "" {
		t.Errorf("LineContext past the end = %q, want nothing", got)
	}
	plain := errors.New("boom")
	if err := withContext(plain, "no line here", data); err != plain { //nolint:errorlint // the very error, not one wrapping it
		t.Errorf("withContext without a line = %v, want the error itself", err)
	}
	var rerr *RestoreError
	if err := withContext(plain, "line 3 failed", data); !errors.As(err, &rerr) || rerr.Line != 3 || !errors.Is(err, plain) {
		t.Errorf("withContext(line 3) = %#v", err)
	}
}
