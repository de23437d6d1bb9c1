package render

import (
	"strings"
	"testing"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// TestObjectSeeds checks that FuzzSnapshot's seeds decode to what they are
// for: a proxied port whose names hold quotes, newlines and maximum
// lengths, IPv6 addresses, and a port with 10,000 endpoints.
func TestObjectSeeds(t *testing.T) {
	want := map[string]func(n snapshot.ServicePortName, p *snapshot.ServicePort) bool{
		"quotes": func(n snapshot.ServicePortName, _ *snapshot.ServicePort) bool {
			return strings.Contains(n.Namespace, `"`)
		},
		"newline":        func(n snapshot.ServicePortName, _ *snapshot.ServicePort) bool { return strings.Contains(n.Name, "\n") },
		"63 characters":  func(n snapshot.ServicePortName, _ *snapshot.ServicePort) bool { return len(n.Namespace) == 63 },
		"253 characters": func(n snapshot.ServicePortName, _ *snapshot.ServicePort) bool { return len(n.Name) == 253 },
		"10,000 endpoints": func(_ snapshot.ServicePortName, p *snapshot.ServicePort) bool {
			return len(p.ClusterEndpoints) == 10000
		},
	}
	found := map[string]bool{}
	ipv6 := 0
	for _, s := range objectSeeds {
		node, services, slices := fuzzObjects(s.data, s.word, s.ip)
		for _, svc := range services {
			if strings.Contains(svc.Spec.ClusterIP, ":") {
				ipv6++
			}
		}
		for _, es := range slices {
			if es.AddressType == "IPv6" {
				ipv6++
			}
		}
		snap, _ := snapshot.Build(nodeConfig(node), services, slices)
		for n, p := range snap.Ports {
			for what, f := range want {
				if f(n, p) {
					found[what] = true
				}
			}
		}
	}
	for what := range want {
		if !found[what] {
			t.Errorf("no seed builds a proxied port with %s", what)
		}
	}
	if ipv6 < 3 {
		t.Errorf("%d seeds hold IPv6 cluster IPs or slices, want 3", ipv6)
	}
}
