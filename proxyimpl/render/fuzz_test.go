package render

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// byteSource hands out fuzz bytes, then zeros.
type byteSource struct {
	data []byte
	i    int
}

func (b *byteSource) next() byte {
	if b.i >= len(b.data) {
		return 0
	}
	b.i++
	return b.data[b.i-1]
}

// fuzzCluster decodes up to 6 Services and their slices from fuzz bytes:
// type, ports and protocols, traffic policies, affinity, external IPs and
// endpoints with their node and conditions all vary.
func fuzzCluster(src *byteSource) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
	var services []*v1.Service
	var slices []*discoveryv1.EndpointSlice
	protocols := []v1.Protocol{v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP}
	n := int(src.next() % 7)
	for i := range n {
		flags := src.next()
		name := fmt.Sprintf("svc%d", i)
		s := svc("ns", name, fmt.Sprintf("10.96.0.%d", i+1))
		s.Spec.Ports = nil
		for p := range 1 + int(src.next()%2) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: fmt.Sprintf("p%d", p),
				Port: int32(80 + p), Protocol: protocols[src.next()%3], NodePort: int32(30000 + 10*i + p)})
		}
		switch flags % 3 {
		case 1:
			s.Spec.Type = v1.ServiceTypeNodePort
		case 2:
			s.Spec.Type = v1.ServiceTypeLoadBalancer
			s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: fmt.Sprintf("198.51.100.%d", i+1)}}
			if flags&128 != 0 {
				s.Spec.LoadBalancerSourceRanges = []string{fmt.Sprintf("203.0.113.%d/32", i), "172.18.0.0/16"}
			}
		}
		if flags&8 != 0 {
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = int32(31000 + i)
		}
		if flags&16 != 0 {
			itpLocal(s)
		}
		if flags&32 != 0 {
			s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		}
		if flags&64 != 0 {
			s.Spec.ExternalIPs = []string{fmt.Sprintf("192.0.2.%d", i+1)}
		}
		services = append(services, s)
		for p, sp := range s.Spec.Ports {
			var eps []ep
			for e := range int(src.next() % 5) {
				c := src.next()
				node := []string{testNode, "node-b", ""}[c%3]
				eps = append(eps, ep{ip: fmt.Sprintf("10.244.%d.%d", e, 10*i+p+1), node: node,
					ready: c&4 != 0, serving: c&12 != 0, terminating: c&16 != 0})
			}
			es := slice("ns", name, fmt.Sprintf("%s-%s", name, sp.Name), sp.Name, int32(8000+p), eps...)
			slices = append(slices, withProtocol(es, sp.Protocol))
		}
	}
	return services, slices
}

// FuzzRender renders random clusters and applies them with the real
// iptables-restore of both backends in a scratch namespace: the full text
// of one cluster (in one transaction or in small batches), then the partial
// text to a second one. Every restore must
// succeed and the kernel must end up as a full sync of the second cluster
// leaves the Fake. Without root or iptables it skips.
func FuzzRender(f *testing.F) {
	needRealIPTables(f)
	f.Add([]byte{2, 9, 1, 0, 3, 4, 12, 20, 0, 1, 1, 2, 5})
	f.Add([]byte{6, 255, 1, 1, 2, 4, 5, 6, 7, 8, 9, 60, 0, 2, 1, 4, 12, 28, 36, 3, 6, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{3, 41, 0, 2, 4, 4, 4, 26, 1, 0, 1, 1, 3, 1, 2, 3, 1, 104, 0, 0, 0})
	f.Add([]byte{2, 131, 1, 0, 2, 4, 12, 139, 0, 1, 0, 2, 5})
	f.Add([]byte{})
	namespaces := map[string]*scratch{}
	for _, b := range backends {
		namespaces[string(b)] = newScratch(f)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &byteSource{data: data}
		batchRules := int(src.next()%3) * 4 // 0: one transaction
		prevServices, prevSlices := fuzzCluster(src)
		nextServices, nextSlices := fuzzCluster(src)
		cfg := snapshot.Config{NodeName: testNode, ClusterCIDRs: testConfig.ClusterCIDRs}
		prevSnap, _ := snapshot.Build(cfg, prevServices, prevSlices)
		nextSnap, _ := snapshot.Build(cfg, nextServices, nextSlices)
		prev := Render(Config{}, prevSnap)
		changed := snapshot.Changed(prevSnap, nextSnap)
		next := RenderChanged(Config{}, nextSnap, prev, changed)
		partial, _ := WritePartial(prev, next, changed)
		nextFull, _ := WriteFull(Render(Config{}, nextSnap), nil)
		want := fakeState(t, nextFull)
		for _, b := range backends {
			ns := namespaces[string(b)]
			saved, err := ns.save(b)
			if err != nil {
				t.Fatal(err)
			}
			// A full sync over whatever the last input left behind.
			prevFull, _ := WriteFullBatched(prev, existingState(t, saved), batchRules)
			if err := ns.restore(b, prevFull, false); err != nil {
				t.Fatalf("%s full sync: %v\n%s", b, err, prevFull)
			}
			if err := ns.restore(b, partial, false); err != nil {
				t.Fatalf("%s partial sync: %v\n%s", b, err, partial)
			}
			if saved, err = ns.save(b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, fakeState(t, saved)); diff != "" {
				t.Fatalf("%s kernel after partial sync (-full sync +kernel):\n%s", b, diff)
			}
		}
	})
}
