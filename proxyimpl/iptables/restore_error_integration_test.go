package iptables_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// TestIntegrationRestoreErrorContext feeds each backend's real
// iptables-restore a text that fails at a known line, for the two kinds
// of failure: a line it cannot parse and one the kernel refuses.
func TestIntegrationRestoreErrorContext(t *testing.T) {
	requireTools(t)
	cases := []struct {
		name, text string
		// line is the line each backend blames: iptables-nft finds a
		// missing jump target only when it commits.
		line map[iptables.Backend]int
	}{
		{"unknown target", "*nat\n:SVCCHK-A - [0:0]\n-A SVCCHK-A -j RETURN\n-A SVCCHK-A -j SVCCHK-NOPE\n-A SVCCHK-A -j RETURN\nCOMMIT\n",
			map[iptables.Backend]int{iptables.BackendLegacy: 4, iptables.BackendNFT: 6}},
		{"referenced chain", "*nat\n:SVCCHK-B - [0:0]\n:SVCCHK-C - [0:0]\n-A SVCCHK-C -j SVCCHK-B\nCOMMIT\n*nat\n-X SVCCHK-B\nCOMMIT\n",
			map[iptables.Backend]int{iptables.BackendLegacy: 7, iptables.BackendNFT: 7}},
	}
	for _, b := range []iptables.Backend{iptables.BackendNFT, iptables.BackendLegacy} {
		t.Run(string(b), func(t *testing.T) {
			r := iptables.New(iptables.NetNSCmder(newNetNS(t, "rerr-"+string(b))), b)
			for _, tc := range cases {
				err := r.Restore(context.Background(), []byte(tc.text))
				var rerr *iptables.RestoreError
				if !errors.As(err, &rerr) {
					t.Errorf("%s: error %v carries no line", tc.name, err)
					continue
				}
				lines := strings.Split(strings.TrimSuffix(tc.text, "\n"), "\n")
				failing := lines[rerr.Line-1]
				if rerr.Line != tc.line[b] {
					t.Errorf("%s: blamed line %d %q, want line %d", tc.name, rerr.Line, failing, tc.line[b])
				}
				if want := fmt.Sprintf("> %d: %s", rerr.Line, failing); !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error lacks %q:\n%v", tc.name, want, err)
				}
				t.Logf("%s on %s: %v", tc.name, b, err)
			}
		})
	}
}
