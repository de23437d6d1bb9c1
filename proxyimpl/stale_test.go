package proxyimpl

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/healthcheck"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// flow returns a flow of proto from client to origDst answered from
// replySrc (the endpoint it was DNATed to, or origDst itself).
func flow(proto uint8, client, origDst, replySrc string) conntrack.Flow {
	ap := netip.MustParseAddrPort
	return conntrack.Flow{
		Protocol: proto,
		Original: conntrack.Tuple{Src: ap(client), Dst: ap(origDst)},
		Reply:    conntrack.Tuple{Src: ap(replySrc), Dst: ap(client)},
	}
}

// udpFlow is flow for UDP.
func udpFlow(client, origDst, replySrc string) conntrack.Flow {
	return flow(conntrack.ProtoUDP, client, origDst, replySrc)
}

// staleTestSnapshot models a UDP Service demo/dns on 10.96.0.53:53 (node
// port 30053, external IP 192.0.2.10, load balancer IP 198.51.100.10,
// target port 5353) with a ready, a serving terminating and a not serving
// endpoint; a UDP Service demo/empty on 10.96.0.99:53 without endpoints;
// and a TCP Service demo/web on 10.96.0.80:80.
func staleTestSnapshot(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	dns := service("demo", "dns", "10.96.0.53", 53, v1.ProtocolUDP, func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = 30053
		s.Spec.ExternalIPs = []string{"192.0.2.10"}
		s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "198.51.100.10"}}
	})
	dnsSlice := slice("demo", "dns", "dns-1", 5353, v1.ProtocolUDP,
		endpoint{"10.244.1.5", testNode}, endpoint{"10.244.2.6", "node-b"}, endpoint{"10.244.3.7", "node-c"})
	no, yes := false, true
	dnsSlice.Endpoints[1].Conditions = discoveryv1.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}
	dnsSlice.Endpoints[2].Conditions = discoveryv1.EndpointConditions{Ready: &no, Serving: &no, Terminating: &yes}
	empty := service("demo", "empty", "10.96.0.99", 53, v1.ProtocolUDP)
	web := service("demo", "web", "10.96.0.80", 80, v1.ProtocolTCP)
	webSlice := slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode})
	snap, problems := snapshot.Build(snapshot.Config{
		NodeName:     testNode,
		NodeIPs:      []netip.Addr{netip.MustParseAddr(testNodeIP)},
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
	}, []*v1.Service{dns, empty, web}, []*discoveryv1.EndpointSlice{dnsSlice, webSlice})
	if len(problems) != 0 {
		t.Fatalf("building the snapshot: %v", problems)
	}
	return snap
}

func TestFlowIndexStale(t *testing.T) {
	const client = "10.244.0.9:40000"
	tests := []struct {
		name  string
		flow  conntrack.Flow
		stale bool
	}{
		{"cluster IP to a ready endpoint", udpFlow(client, "10.96.0.53:53", "10.244.1.5:5353"), false},
		{"cluster IP to a serving terminating endpoint", udpFlow(client, "10.96.0.53:53", "10.244.2.6:5353"), false},
		{"cluster IP to a terminating endpoint no longer serving", udpFlow(client, "10.96.0.53:53", "10.244.3.7:5353"), true},
		{"cluster IP to a removed endpoint", udpFlow(client, "10.96.0.53:53", "10.244.9.9:5353"), true},
		{"cluster IP to the old target port", udpFlow(client, "10.96.0.53:53", "10.244.1.5:53"), true},
		{"cluster IP without DNAT (made before the first endpoint)", udpFlow(client, "10.96.0.53:53", "10.96.0.53:53"), true},
		{"external IP to a removed endpoint", udpFlow("203.0.113.7:999", "192.0.2.10:53", "10.244.9.9:5353"), true},
		{"external IP to a ready endpoint", udpFlow("203.0.113.7:999", "192.0.2.10:53", "10.244.1.5:5353"), false},
		{"load balancer IP to the old target port", udpFlow("203.0.113.7:999", "198.51.100.10:53", "10.244.1.5:53"), true},
		{"node port to a ready endpoint", udpFlow("203.0.113.7:999", "10.0.0.1:30053", "10.244.1.5:5353"), false},
		{"node port to the old target port", udpFlow("203.0.113.7:999", "10.0.0.1:30053", "10.244.1.5:53"), true},
		{"node port on another local address without DNAT", udpFlow("203.0.113.7:999", "127.0.0.1:30053", "127.0.0.1:30053"), true},
		{"another port of the cluster IP", udpFlow(client, "10.96.0.53:54", "10.96.0.53:54"), false},
		{"Service without endpoints", udpFlow(client, "10.96.0.99:53", "10.96.0.99:53"), false},
		{"TCP Service to a removed endpoint", flow(conntrack.ProtoTCP, client, "10.96.0.80:80", "10.244.9.9:8080"), false},
		{"TCP flow to a UDP Service port", flow(conntrack.ProtoTCP, client, "10.96.0.53:53", "10.244.9.9:5353"), false},
		{"UDP flow to no Service", udpFlow(client, "192.0.2.99:53", "192.0.2.99:53"), false},
	}
	ix := newFlowIndex(staleTestSnapshot(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ix.stale(tt.flow); got != tt.stale {
				t.Errorf("stale(%s) = %v, want %v", tt.flow, got, tt.stale)
			}
		})
	}
}

// TestClearStaleFlowsTable runs the selection against a Fake table: the
// stale flows go, the others (and IPv6 ones, which the IPv4 model says
// nothing about) stay.
func TestClearStaleFlowsTable(t *testing.T) {
	keep := []conntrack.Flow{
		udpFlow("10.244.0.9:40000", "10.96.0.53:53", "10.244.1.5:5353"),
		udpFlow("[fd00::9]:40000", "[fd00::53]:53", "[fd00::53]:53"),
		udpFlow("10.244.0.9:40001", "10.96.0.99:53", "10.96.0.99:53"),
	}
	drop := []conntrack.Flow{
		udpFlow("10.244.0.9:40002", "10.96.0.53:53", "10.244.1.5:53"),
		udpFlow("203.0.113.7:999", "10.0.0.1:30053", "10.244.9.9:5353"),
	}
	ct := conntrack.NewFake(append(append([]conntrack.Flow{}, drop[0], keep[0], drop[1]), keep[1:]...)...)
	p := &Proxier{ct: ct, cfg: mustDefaults(t)}
	p.clearStaleFlows(t.Context(), staleTestSnapshot(t))
	want := []conntrack.Flow{keep[0], keep[1], keep[2]}
	if diff := cmp.Diff(want, ct.Flows(), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("flows left (-want +got):\n%s", diff)
	}
}

// mustDefaults returns the default Config.
func mustDefaults(t *testing.T) Config {
	t.Helper()
	cfg, err := Config{NodeName: testNode}.withDefaults()
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	return cfg
}

// TestSyncClearsStaleUDPFlows follows one UDP Service through syncs of one
// proxy over a Fake table: a flow made before the first endpoint, an
// endpoint replaced (with the first deletion failing and tried again at the
// next sync) and a target port change.
func TestSyncClearsStaleUDPFlows(t *testing.T) {
	const client = "10.244.0.9:40000"
	env := newEnv(t, nil, service("demo", "dns", "10.96.0.53", 53, v1.ProtocolUDP))
	env.start(2)
	noDNAT := udpFlow(client, "10.96.0.53:53", "10.96.0.53:53")
	env.ct.Add(noDNAT)
	env.sync()
	env.wantFlows("without endpoints", noDNAT)

	dnsSlice := slice("demo", "dns", "dns-1", 53, v1.ProtocolUDP, endpoint{"10.244.1.5", testNode})
	env.create(dnsSlice)
	env.waitEvents(3)
	env.sync()
	env.wantFlows("after the first endpoint")

	first := udpFlow(client, "10.96.0.53:53", "10.244.1.5:53")
	env.ct.Add(first)
	moved := dnsSlice.DeepCopy()
	moved.Endpoints[0].Addresses = []string{"10.244.2.6"}
	env.updateSlice(moved)
	env.waitEvents(4)
	env.ct.SetErr(errors.New("operation not permitted"))
	env.sync()
	env.wantFlows("after the endpoint moved, deletion failing", first)
	env.ct.SetErr(nil)
	env.sync()
	env.wantFlows("at the sync after the failure")

	second := udpFlow(client, "10.96.0.53:53", "10.244.2.6:53")
	env.ct.Add(second)
	env.sync()
	env.wantFlows("with nothing changed", second)
	retarget := moved.DeepCopy()
	port := int32(5353)
	retarget.Ports[0].Port = &port
	env.updateSlice(retarget)
	env.waitEvents(5)
	env.sync()
	env.wantFlows("after the target port changed")
}

// TestSyncClearsStaleUDPFlowsAfterRestart checks that the first sync of a
// proxy clears a flow to an endpoint removed before it started, which it
// never saw, and keeps the flow to the endpoint that still serves.
func TestSyncClearsStaleUDPFlowsAfterRestart(t *testing.T) {
	env := newEnv(t, nil, service("demo", "dns", "10.96.0.53", 53, v1.ProtocolUDP),
		slice("demo", "dns", "dns-1", 53, v1.ProtocolUDP, endpoint{"10.244.1.5", testNode}))
	gone := udpFlow("10.244.0.9:40000", "10.96.0.53:53", "10.244.9.9:53")
	live := udpFlow("10.244.0.9:40001", "10.96.0.53:53", "10.244.1.5:53")
	env.ct.Add(gone, live)
	env.start(3)
	env.sync()
	env.wantFlows("after the first sync", live)
}

// wantFlows checks the flows left in the Fake table.
func (e *testEnv) wantFlows(when string, want ...conntrack.Flow) {
	e.t.Helper()
	if diff := cmp.Diff(want, e.ct.Flows(), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }), cmpopts.EquateEmpty()); diff != "" {
		e.t.Errorf("conntrack flows %s (-want +got):\n%s", when, diff)
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
