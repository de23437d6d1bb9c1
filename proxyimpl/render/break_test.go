package render

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// TestBreakAffinity checks the on-purpose breakage svccheck run --break
// affinity relies on: no recent-list rules, and otherwise the same DNAT
// rules as an intact rendering.
func TestBreakAffinity(t *testing.T) {
	snap := build(t, []*v1.Service{svc("ns1", "svc1", "10.96.0.10", func(s *v1.Service) {
		s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	})}, []*discoveryv1.EndpointSlice{twoEndpoints()})

	intact, _ := WriteFull(Render(Config{}, snap), nil)
	broken, _ := WriteFull(Render(Config{BreakAffinity: true}, snap), nil)
	if !strings.Contains(string(intact), "-m recent") {
		t.Fatalf("intact rendering has no recent rules:\n%s", intact)
	}
	if strings.Contains(string(broken), "-m recent") {
		t.Errorf("BreakAffinity rendering still has recent rules:\n%s", broken)
	}
	for _, ep := range []string{"10.244.1.5:8080", "10.244.2.5:8080"} {
		if !strings.Contains(string(broken), "--to-destination "+ep) {
			t.Errorf("BreakAffinity rendering lost the DNAT to %s:\n%s", ep, broken)
		}
	}
}
