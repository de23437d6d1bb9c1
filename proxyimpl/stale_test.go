package proxyimpl

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/svccheck/svccheck/proxyimpl/healthcheck"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// udpPort returns a UDP port model with the given cluster endpoints.
func udpPort(nodePort int32, eps ...string) *snapshot.ServicePort {
	p := &snapshot.ServicePort{
		Name:       snapshot.ServicePortName{Namespace: "demo", Name: "dns", Port: "p", Protocol: v1.ProtocolUDP},
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.53")},
		Port:       53, Protocol: v1.ProtocolUDP, NodePort: nodePort,
	}
	for _, e := range eps {
		p.ClusterEndpoints = append(p.ClusterEndpoints, snapshot.Endpoint{IP: netip.MustParseAddr(e), Port: 53, Ready: true})
	}
	return p
}

func snapOf(ports ...*snapshot.ServicePort) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Ports: map[snapshot.ServicePortName]*snapshot.ServicePort{}}
	for _, p := range ports {
		s.Ports[p.Name] = p
	}
	return s
}

func TestStaleUDP(t *testing.T) {
	vip := netip.MustParseAddr("10.96.0.53")
	ep := netip.MustParseAddr
	name := udpPort(0).Name
	changed := map[snapshot.ServicePortName]bool{name: true}
	tests := []struct {
		name     string
		old, cur *snapshot.Snapshot
		want     []ctAction
	}{
		{"first sync knows nothing", nil, snapOf(udpPort(0, "10.244.1.5")), nil},
		{"first endpoint", snapOf(udpPort(30053)), snapOf(udpPort(30053, "10.244.1.5")),
			[]ctAction{{kind: ctServicePort, vip: vip, port: 53}, {kind: ctNodePort, port: 30053}}},
		{"new Service with endpoints", snapOf(), snapOf(udpPort(0, "10.244.1.5")),
			[]ctAction{{kind: ctServicePort, vip: vip, port: 53}}},
		{"endpoint removed", snapOf(udpPort(30053, "10.244.1.5", "10.244.2.6")), snapOf(udpPort(30053, "10.244.2.6")),
			[]ctAction{{kind: ctNAT, vip: vip, ep: ep("10.244.1.5")}, {kind: ctNodePortNAT, port: 30053, ep: ep("10.244.1.5")}}},
		{"endpoint added to a served port", snapOf(udpPort(0, "10.244.1.5")), snapOf(udpPort(0, "10.244.1.5", "10.244.2.6")), nil},
		{"Service deleted", snapOf(udpPort(0, "10.244.1.5")), snapOf(),
			[]ctAction{{kind: ctNAT, vip: vip, ep: ep("10.244.1.5")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := staleUDP(tt.old, tt.cur, changed)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(ctAction{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
	tcp := udpPort(0, "10.244.1.5")
	tcp.Name.Protocol, tcp.Protocol = v1.ProtocolTCP, v1.ProtocolTCP
	if got := staleUDP(snapOf(tcp), snapOf(), map[snapshot.ServicePortName]bool{tcp.Name: true}); len(got) != 0 {
		t.Errorf("TCP port: %v, want no conntrack deletions", got)
	}
}

func TestSyncClearsStaleUDPFlows(t *testing.T) {
	env := newEnv(t, nil, service("demo", "dns", "10.96.0.53", 53, v1.ProtocolUDP))
	env.start(2)
	env.sync()
	if calls := env.ct.Calls(); len(calls) != 0 {
		t.Fatalf("first sync cleared conntrack entries: %v", calls)
	}

	dnsSlice := slice("demo", "dns", "dns-1", 53, v1.ProtocolUDP, endpoint{"10.244.1.5", testNode})
	env.create(dnsSlice)
	env.waitEvents(3)
	env.sync()
	want := [][]string{{"-D", "-p", "udp", "-f", "ipv4", "--orig-dst", "10.96.0.53", "--orig-port-dst", "53"}}
	if diff := cmp.Diff(want, env.ct.Calls()); diff != "" {
		t.Errorf("conntrack calls after the first endpoint (-want +got):\n%s", diff)
	}

	env.ct.Reset()
	moved := dnsSlice.DeepCopy()
	moved.Endpoints[0].Addresses = []string{"10.244.2.6"}
	env.updateSlice(moved)
	env.waitEvents(4)
	env.sync()
	want = [][]string{{"-D", "-p", "udp", "-f", "ipv4", "--orig-dst", "10.96.0.53", "--dst-nat", "10.244.1.5"}}
	if diff := cmp.Diff(want, env.ct.Calls()); diff != "" {
		t.Errorf("conntrack calls after the endpoint moved (-want +got):\n%s", diff)
	}
}

func TestSyncHealthCheckNodePorts(t *testing.T) {
	ll := map[string]bool{}
	servers := healthcheck.NewServiceServer(func(network, addr string) (netListener, error) {
		ll[addr] = true
		return listenLoopback(network)
	})
	defer servers.Close()
	local := func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = 30080
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32000
	}
	env := newEnv(t, func(c *Config) { c.ServiceHealth = servers },
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP, local),
		slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode}, endpoint{"10.244.2.6", "node-b"}),
	)
	env.start(3)
	env.sync()
	web := types.NamespacedName{Namespace: "demo", Name: "web"}
	if diff := cmp.Diff(map[types.NamespacedName]int32{web: 32000}, servers.Ports()); diff != "" {
		t.Errorf("health check ports (-want +got):\n%s", diff)
	}
	if !ll[":32000"] {
		t.Errorf("listened on %v, want :32000", ll)
	}
	code, body := get(t, servers.Handler(web))
	if code != 200 || body["localEndpoints"] != float64(1) {
		t.Errorf("health check answered %d %v, want 200 with 1 local endpoint", code, body)
	}
}
