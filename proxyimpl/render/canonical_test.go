package render

import (
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// TestIntegrationCanonicalSpelling restores the full text of every rule
// shape with the real iptables-restore of both backends and checks that
// iptables-save prints every rule of svccheck's chains exactly as
// rendered. A full sync leaves chains the kernel already holds as they
// are, which it can only see when the spellings agree; a rule spelled
// otherwise makes every full sync rewrite its chain.
func TestIntegrationCanonicalSpelling(t *testing.T) {
	needRealIPTables(t)
	type cluster struct {
		name string
		rs   *RuleSet
	}
	var clusters []cluster
	for _, tc := range shapeCases() {
		clusters = append(clusters, cluster{tc.name, Render(Config{}, build(t, tc.services, tc.slices))})
	}
	firewalled := []*v1.Service{
		svc("ns1", "guarded", "10.96.0.10", loadBalancer(30080, "198.51.100.9", "203.0.113.0/24", "192.0.2.7/32")),
		svc("ns1", "node-allowed", "10.96.0.20", loadBalancer(30081, "198.51.100.10", "172.18.0.0/16"), etpLocal(31000)),
	}
	clusters = append(clusters, cluster{"load balancer source ranges", Render(Config{}, buildFirewall(t, firewalled, []*discoveryv1.EndpointSlice{
		slice("ns1", "guarded", "guarded-a", "p80", 8080, readyEp("10.244.2.5", "node-b")),
		slice("ns1", "node-allowed", "node-allowed-a", "p80", 8080, readyEp("10.244.1.6", testNode)),
	}))})
	services, eps := genCluster(40, 7)
	clusters = append(clusters, cluster{"generated", Render(Config{MasqueradeMark: 0x8000}, build(t, services, eps))})
	services, eps = genCluster(2, 70) // probabilities 1/70 to 1/2
	clusters = append(clusters, cluster{"many endpoints", Render(Config{}, build(t, services, eps))})
	// Names as long as the API server allows, four Services on one local
	// endpoint: the longest comments svccheck writes.
	services, eps = nil, nil
	ns := long("n")
	for _, name := range []string{long("a"), long("b"), long("c"), long("d")} {
		services = append(services, svc(ns, name, "10.96.0."+strconv.Itoa(len(services)+10), func(s *v1.Service) {
			s.Spec.Ports[0].Name = "abcdefghijklmno" // 15, the most a port name has
			s.Spec.Type = v1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = int32(30100 + len(services))
		}))
		eps = append(eps, slice(ns, name, name[:60]+"-1", "abcdefghijklmno", 8080, readyEp("10.244.1.5", testNode)))
	}
	clusters = append(clusters, cluster{"longest names", Render(Config{}, build(t, services, eps))})
	for _, b := range backends {
		for _, c := range clusters {
			t.Run(string(b)+"/"+c.name, func(t *testing.T) {
				ns := newScratch(t)
				text, _ := WriteFull(c.rs, nil)
				if err := ns.restore(b, text, false); err != nil {
					t.Fatalf("restore: %v\n%s", err, text)
				}
				saved, err := ns.save(b)
				if err != nil {
					t.Fatal(err)
				}
				got := existingState(t, saved).Rules
				ordered := sortedServices(c.rs.Services)
				for _, tbl := range tables {
					for _, ch := range tableChains(c.rs, ordered, tbl) {
						kernel, ok := got[tbl][ch.Name]
						if !ok {
							t.Errorf("%s %s missing from iptables-save", tbl, ch.Name)
							continue
						}
						if !slices.Equal(kernel, ch.Rules) {
							t.Errorf("%s %s as iptables-save prints it (-rendered +saved):\n%s", tbl, ch.Name, cmp.Diff(ch.Rules, kernel))
						}
					}
				}
				// And so a full sync over it has nothing to do.
				again, stats := WriteFull(c.rs, existingState(t, saved))
				if len(again) != 0 {
					t.Errorf("full sync over an equal kernel state writes:\n%s", again)
				}
				if stats[iptables.TableNAT].Kept == 0 {
					t.Errorf("full sync over an equal kernel state kept no nat chain: %+v", stats)
				}
			})
		}
	}
}
