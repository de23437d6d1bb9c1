package run

import (
	"strings"
	"testing"

	"github.com/svccheck/svccheck/reports"
)

// TestFailureTraces explains a failed spec's Service from a real failure
// dump (a --break terminating run on kind): the trace starts at a pod of
// the spec's namespace on the dumped node and ends in the DNAT its rules
// chose.
func TestFailureTraces(t *testing.T) {
	res := reports.Results{Specs: []reports.Spec{
		{Suite: "Terminating endpoints", Text: "fall back", Result: reports.ResultFailed,
			Dumps: []string{"nodes/svcchk-brk-worker2/failures/fb"}},
		{Suite: "ClusterIP", Text: "passes", Result: reports.ResultPassed},
	}}
	traces := failureTraces("testdata/traces", res)
	if len(traces) != 1 {
		t.Fatalf("traces for %d specs, want the one failed spec", len(traces))
	}
	got := traces[res.Specs[0].Slug()]
	for _, want := range []string{
		"pod svcchk-j9mtl/fb-remote (10.244.2.3) to svcchk-j9mtl/fb:http (10.96.245.61:80/tcp) on svcchk-brk-worker2",
		"outcome: accepted",
		"-A SVCCHK-SERVICES -d 10.96.245.61/32 -p tcp",
		"DNAT to 10.244.2.3:8080",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "kube-system/") {
		t.Errorf("trace explains a Service outside the spec namespaces:\n%s", got)
	}
}
