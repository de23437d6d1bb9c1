package proxyimpl

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/proxyimpl/render"
)

func TestParseBreak(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  render.Config
		names []string
	}{
		{"", render.Config{}, nil},
		{"affinity", render.Config{BreakAffinity: true}, []string{"affinity"}},
		{"reject, etplocal,reject", render.Config{BreakETPLocal: true, BreakReject: true}, []string{"etplocal", "reject"}},
		{"terminating,affinity,etplocal,reject", render.Config{BreakAffinity: true, BreakTerminating: true, BreakETPLocal: true, BreakReject: true},
			[]string{"affinity", "etplocal", "reject", "terminating"}},
	} {
		got, names, err := ParseBreak(tc.in)
		if err != nil {
			t.Fatalf("ParseBreak(%q): %v", tc.in, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseBreak(%q) config (-want +got):\n%s", tc.in, diff)
		}
		if diff := cmp.Diff(tc.names, names); diff != "" {
			t.Errorf("ParseBreak(%q) names (-want +got):\n%s", tc.in, diff)
		}
	}
	if _, _, err := ParseBreak("affinity,nat"); err == nil {
		t.Error("ParseBreak accepted an unknown breakage")
	}
}
