package render

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// build builds a snapshot for the test node, failing on any problem.
func build(t *testing.T, services []*v1.Service, slices []*discoveryv1.EndpointSlice) *snapshot.Snapshot {
	t.Helper()
	snap, problems := snapshot.Build(testConfig, services, slices)
	if len(problems) > 0 {
		t.Fatalf("unexpected problems: %v", problems)
	}
	return snap
}

// baseline is the full restore text of an empty snapshot: the global
// chains and their fixed rules.
func baseline() string {
	text, _ := WriteFull(Render(Config{}, &snapshot.Snapshot{ClusterCIDRs: testConfig.ClusterCIDRs}), nil)
	return string(text)
}

// withoutBaseline drops from text the lines that every full restore text
// has (global chain declarations, fixed rules, COMMIT), keeping the table
// headers, so expectations show only what the Services add.
func withoutBaseline(text string) string {
	fixed := map[string]bool{}
	for _, l := range strings.Split(baseline(), "\n") {
		if !strings.HasPrefix(l, "*") {
			fixed[l] = true
		}
	}
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if !fixed[l] {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// dedent removes the leading tab indentation of an inline expectation and
// its first newline.
func dedent(s string) string {
	s = strings.TrimPrefix(s, "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(l, "\t")
	}
	return strings.Join(lines, "\n")
}
