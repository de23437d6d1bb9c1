package render

import (
	"context"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// firewallConfig is testConfig with the node's address, which decides
// whether source ranges hold the node.
var firewallConfig = func() snapshot.Config {
	cfg := testConfig
	cfg.NodeIPs = []netip.Addr{netip.MustParseAddr(nodeIP)}
	return cfg
}()

// buildFirewall builds a snapshot with firewallConfig, failing on any
// problem.
func buildFirewall(t *testing.T, services []*v1.Service, slices []*discoveryv1.EndpointSlice) *snapshot.Snapshot {
	t.Helper()
	snap, problems := snapshot.Build(firewallConfig, services, slices)
	if len(problems) > 0 {
		t.Fatalf("unexpected problems: %v", problems)
	}
	return snap
}

// loadBalancer makes a Service a LoadBalancer on node port np with load
// balancer IP ip, open to the source ranges given.
func loadBalancer(np int32, ip string, ranges ...string) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = np
		s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: ip}}
		s.Spec.LoadBalancerSourceRanges = ranges
	}
}

func TestRenderFirewall(t *testing.T) {
	cases := []struct {
		name     string
		services []*v1.Service
		slices   []*discoveryv1.EndpointSlice
		want     string
	}{{
		name: "source ranges",
		services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10",
			loadBalancer(30080, "198.51.100.9", "203.0.113.0/24", "192.0.2.0/25"))},
		slices: []*discoveryv1.EndpointSlice{remoteOnly()},
		want: `
			*nat
			:SVCCHK-EXT-KUEAGMSZTYSV7XVL - [0:0]
			:SVCCHK-FW-KUEAGMSZTYSV7XVL - [0:0]
			:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
			-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
			-A SVCCHK-SERVICES -d 198.51.100.9/32 -p tcp -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp --dport 80 -j SVCCHK-FW-KUEAGMSZTYSV7XVL
			-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80" -m tcp --dport 30080 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
			-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
			-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j SVCCHK-MARK-MASQ
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "ns1/svc1:p80 external destinations" -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
			-A SVCCHK-FW-KUEAGMSZTYSV7XVL -s 192.0.2.0/25 -m comment --comment "ns1/svc1:p80 loadbalancer IP" -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
			-A SVCCHK-FW-KUEAGMSZTYSV7XVL -s 203.0.113.0/24 -m comment --comment "ns1/svc1:p80 loadbalancer IP" -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
			-A SVCCHK-FW-KUEAGMSZTYSV7XVL -m comment --comment "other traffic to ns1/svc1:p80 will be dropped by SVCCHK-PROXY-FIREWALL"
			*filter
			-A SVCCHK-PROXY-FIREWALL -d 198.51.100.9/32 -p tcp -m comment --comment "ns1/svc1:p80 traffic not accepted by SVCCHK-FW-KUEAGMSZTYSV7XVL" -m tcp --dport 80 -j DROP
		`,
	}, {
		name: "source ranges holding the node, policy Local",
		services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10",
			loadBalancer(30080, "198.51.100.9", "172.18.0.0/16"), etpLocal(31000))},
		slices: []*discoveryv1.EndpointSlice{twoEndpoints()},
		want: `
			*nat
			:SVCCHK-EXT-KUEAGMSZTYSV7XVL - [0:0]
			:SVCCHK-FW-KUEAGMSZTYSV7XVL - [0:0]
			:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
			-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
			-A SVCCHK-SERVICES -d 198.51.100.9/32 -p tcp -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp --dport 80 -j SVCCHK-FW-KUEAGMSZTYSV7XVL
			-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80" -m tcp --dport 30080 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
			-A SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p80" -j SVCCHK-MARK-MASQ
			-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
			-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.1.5:8080
			-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -s 10.244.0.0/16 -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j SVCCHK-MARK-MASQ
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.1.5:8080
			-A SVCCHK-FW-KUEAGMSZTYSV7XVL -s 172.18.0.0/16 -m comment --comment "ns1/svc1:p80 loadbalancer IP" -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
			-A SVCCHK-FW-KUEAGMSZTYSV7XVL -s 198.51.100.9/32 -m comment --comment "ns1/svc1:p80 loadbalancer IP" -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
			-A SVCCHK-FW-KUEAGMSZTYSV7XVL -m comment --comment "other traffic to ns1/svc1:p80 will be dropped by SVCCHK-PROXY-FIREWALL"
			*filter
			-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80 health check node port" -m tcp --dport 31000 -j ACCEPT
			-A SVCCHK-PROXY-FIREWALL -d 198.51.100.9/32 -p tcp -m comment --comment "ns1/svc1:p80 traffic not accepted by SVCCHK-FW-KUEAGMSZTYSV7XVL" -m tcp --dport 80 -j DROP
		`,
	}, {
		name: "source ranges without endpoints: rejected, no firewall chain",
		services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10",
			loadBalancer(30080, "198.51.100.9", "203.0.113.0/24"))},
		want: `
			*nat
			*filter
			-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
			-A SVCCHK-EXTERNAL-SERVICES -p tcp -m comment --comment "ns1/svc1:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j REJECT --reject-with icmp-port-unreachable
			-A SVCCHK-EXTERNAL-SERVICES -d 198.51.100.9/32 -p tcp -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
		`,
	}, {
		name: "source ranges without a load balancer IP: nothing to guard",
		services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10",
			loadBalancer(30080, "", "203.0.113.0/24"), func(s *v1.Service) { s.Status.LoadBalancer.Ingress = nil })},
		slices: []*discoveryv1.EndpointSlice{remoteOnly()},
		want: `
			*nat
			:SVCCHK-EXT-KUEAGMSZTYSV7XVL - [0:0]
			:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
			-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
			-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80" -m tcp --dport 30080 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
			-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
			-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j SVCCHK-MARK-MASQ
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "ns1/svc1:p80 external destinations" -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
			*filter
		`,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap := buildFirewall(t, tc.services, tc.slices)
			text, _ := WriteFull(Render(Config{}, snap), nil)
			if diff := cmp.Diff(dedent(tc.want), withoutBaseline(string(text))); diff != "" {
				t.Errorf("restore text (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPacketFlowFirewall traces packets to load balancer IPs with source
// ranges: sources in a range reach the endpoints, others are dropped, a
// node in a range may reach a load balancer IP it holds, and node ports
// are not subject to the ranges (as with kube-proxy).
func TestPacketFlowFirewall(t *testing.T) {
	services := []*v1.Service{
		svc("ns1", "guarded", "10.96.0.10", loadBalancer(30080, "198.51.100.9", "203.0.113.0/24")),
		svc("ns1", "node-allowed", "10.96.0.20", loadBalancer(30081, "198.51.100.10", "172.18.0.0/16")),
	}
	slices := []*discoveryv1.EndpointSlice{
		slice("ns1", "guarded", "guarded-a", "p80", 8080, readyEp("10.244.2.5", "node-b")),
		slice("ns1", "node-allowed", "node-allowed-a", "p80", 8080, readyEp("10.244.2.6", "node-b")),
	}
	snap := buildFirewall(t, services, slices)
	// The node holds the second load balancer IP as a local address.
	fake := iptablestest.NewFake()
	ctx := context.Background()
	text, _ := WriteFull(Render(Config{}, snap), nil)
	if err := fake.Restore(ctx, text); err != nil {
		t.Fatalf("restoring: %v", err)
	}
	for _, h := range Hooks() {
		if _, err := fake.EnsureRule(ctx, h.Table, h.Chain, h.Args...); err != nil {
			t.Fatalf("ensuring hook %v: %v", h, err)
		}
	}
	tracer, err := iptrace.New(fake.Dump(), nodeIP, "198.51.100.10")
	if err != nil {
		t.Fatal(err)
	}
	accept := []iptrace.Verdict{iptrace.VerdictAccept}
	drop := []iptrace.Verdict{iptrace.VerdictDrop}
	cases := []struct {
		name string
		pkt  iptrace.Packet
		want flowWant
	}{
		{"source in a range reaches the endpoint", tcp("203.0.113.7", "198.51.100.9", 80, false),
			flowWant{[]string{"10.244.2.5:8080"}, []string{"10.244.2.5:8080"}, accept}},
		{"source outside the ranges is dropped", tcp(outside, "198.51.100.9", 80, false), flowWant{nil, nil, drop}},
		{"pod outside the ranges is dropped", tcp(localPod, "198.51.100.9", 80, false), flowWant{nil, nil, drop}},
		{"node outside the ranges is dropped", tcp(nodeIP, "198.51.100.9", 80, true), flowWant{nil, nil, drop}},
		{"node port is not subject to the ranges", tcp(outside, nodeIP, 30080, false),
			flowWant{[]string{"10.244.2.5:8080"}, []string{"10.244.2.5:8080"}, accept}},
		{"cluster IP is not subject to the ranges", tcp(localPod, "10.96.0.10", 80, false),
			flowWant{[]string{"10.244.2.5:8080"}, nil, accept}},
		{"other port of the load balancer IP is untouched", tcp(outside, "198.51.100.9", 443, false),
			flowWant{[]string{"198.51.100.9:443"}, nil, accept}},
		{"node in a range reaches the endpoint", tcp(nodeIP, "198.51.100.10", 80, true),
			flowWant{[]string{"10.244.2.6:8080"}, []string{"10.244.2.6:8080"}, accept}},
		{"node sending from the load balancer IP it holds reaches the endpoint", tcp("198.51.100.10", "198.51.100.10", 80, true),
			flowWant{[]string{"10.244.2.6:8080"}, []string{"10.244.2.6:8080"}, accept}},
		{"source outside that Service's ranges is dropped", tcp("203.0.113.7", "198.51.100.10", 80, false), flowWant{nil, nil, drop}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkFlow(t, tracer, tc.pkt, tc.want) })
	}
}

// TestWritePartialFirewall checks partial syncs of a load balancer
// Service whose source ranges come, change and go: each leaves the tables
// as a full sync of the new state would.
func TestWritePartialFirewall(t *testing.T) {
	slices := []*discoveryv1.EndpointSlice{remoteOnly()}
	lb := func(ranges ...string) []*v1.Service {
		return []*v1.Service{svc("ns1", "svc1", "10.96.0.10", loadBalancer(30080, "198.51.100.9", ranges...))}
	}
	steps := []struct {
		name     string
		services []*v1.Service
		want     string // partial restore text; empty: not checked
	}{
		{"no ranges", lb(), ""},
		{"ranges set", lb("203.0.113.0/24"), `
			*nat
			:SVCCHK-EXT-KUEAGMSZTYSV7XVL - [0:0]
			:SVCCHK-FW-KUEAGMSZTYSV7XVL - [0:0]
			:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
			-D SVCCHK-SERVICES -d 198.51.100.9/32 -p tcp -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp --dport 80 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
			-I SVCCHK-SERVICES 1 -d 198.51.100.9/32 -p tcp -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp --dport 80 -j SVCCHK-FW-KUEAGMSZTYSV7XVL
			-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
			-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j SVCCHK-MARK-MASQ
			-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "ns1/svc1:p80 external destinations" -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
			-A SVCCHK-FW-KUEAGMSZTYSV7XVL -s 203.0.113.0/24 -m comment --comment "ns1/svc1:p80 loadbalancer IP" -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
			-A SVCCHK-FW-KUEAGMSZTYSV7XVL -m comment --comment "other traffic to ns1/svc1:p80 will be dropped by SVCCHK-PROXY-FIREWALL"
			COMMIT
			*filter
			-I SVCCHK-PROXY-FIREWALL 1 -d 198.51.100.9/32 -p tcp -m comment --comment "ns1/svc1:p80 traffic not accepted by SVCCHK-FW-KUEAGMSZTYSV7XVL" -m tcp --dport 80 -j DROP
			COMMIT
		`},
		{"ranges changed", lb("192.0.2.0/24", "203.0.113.0/25"), ""},
		{"ranges removed", lb(), ""},
	}
	prevSnap := buildFirewall(t, steps[0].services, slices)
	prev := Render(Config{}, prevSnap)
	state, _ := WriteFull(prev, nil)
	texts := [][]byte{state}
	for _, st := range steps[1:] {
		nextSnap := buildFirewall(t, st.services, slices)
		changed := snapshot.Changed(prevSnap, nextSnap)
		next := RenderChanged(Config{}, nextSnap, prev, changed)
		partial, _ := WritePartial(prev, next, changed)
		if st.want != "" {
			if diff := cmp.Diff(dedent(st.want), string(partial)); diff != "" {
				t.Errorf("%s: partial restore text (-want +got):\n%s", st.name, diff)
			}
		}
		texts = append(texts, partial)
		full, _ := WriteFull(Render(Config{}, nextSnap), nil)
		if diff := cmp.Diff(fakeState(t, full), fakeState(t, texts...)); diff != "" {
			t.Errorf("%s: kernel state after partial sync (-full +partial):\n%s", st.name, diff)
		}
		prevSnap, prev = nextSnap, next
	}
}
