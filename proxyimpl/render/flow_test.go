package render

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// Addresses of the packet-flow tests.
const (
	nodeIP   = "172.18.0.2"
	localPod = "10.244.1.9"  // a client pod on this node
	outside  = "192.0.2.100" // a client outside the cluster
)

// flowServices is the cluster the packet-flow tests trace through.
func flowServices() ([]*v1.Service, []*discoveryv1.EndpointSlice) {
	affinity := func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP }
	udp := func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolUDP; s.Spec.Ports[0].Port = 53 }
	extIP := func(s *v1.Service) { s.Spec.ExternalIPs = []string{"192.0.2.7"} }
	one := func(name, ip, node string) *discoveryv1.EndpointSlice {
		return slice("ns1", name, name+"-a", "p80", 8080, readyEp(ip, node))
	}
	return []*v1.Service{
			svc("ns1", "cluster", "10.96.0.10"),
			svc("ns1", "np", "10.96.0.20", nodePort(30080)),
			svc("ns1", "np-local", "10.96.0.30", nodePort(30081), etpLocal(31000)),
			svc("ns1", "np-local-none", "10.96.0.40", nodePort(30082), etpLocal(31001)),
			svc("ns1", "empty", "10.96.0.50", nodePort(30085)),
			svc("ns1", "itp-local-none", "10.96.0.60", itpLocal),
			svc("ns1", "sticky", "10.96.0.70", affinity),
			svc("ns1", "dns", "10.96.0.80", udp),
			svc("ns1", "ext", "10.96.0.90", extIP),
		}, []*discoveryv1.EndpointSlice{
			slice("ns1", "cluster", "cluster-a", "p80", 8080,
				readyEp("10.244.1.5", testNode), readyEp("10.244.2.5", "node-b")),
			one("np", "10.244.2.7", "node-b"),
			slice("ns1", "np-local", "np-local-a", "p80", 8080,
				readyEp("10.244.1.8", testNode), readyEp("10.244.2.8", "node-b")),
			one("np-local-none", "10.244.2.9", "node-b"),
			one("itp-local-none", "10.244.2.10", "node-b"),
			slice("ns1", "sticky", "sticky-a", "p80", 8080,
				readyEp("10.244.2.11", "node-b"), readyEp("10.244.3.11", "node-c")),
			withProtocol(one("dns", "10.244.2.12", "node-b"), v1.ProtocolUDP),
			one("ext", "10.244.2.13", "node-b"),
		}
}

// flowWant is what a traced packet must come to.
type flowWant struct {
	// Endpoints are the possible final destinations of accepted paths.
	Endpoints []string
	// Masqueraded are the destinations whose paths are masqueraded.
	Masqueraded []string
	// Verdicts are the distinct verdicts of all paths.
	Verdicts []iptrace.Verdict
}

func TestPacketFlow(t *testing.T) {
	services, slices_ := flowServices()
	snap := build(t, services, slices_)
	tracer := newFlowTracer(t, snap)
	accept := []iptrace.Verdict{iptrace.VerdictAccept}
	both := []string{"10.244.1.5:8080", "10.244.2.5:8080"}
	stickyList := snap.Ports[snapshot.ServicePortName{Namespace: "ns1", Name: "sticky", Port: "p80", Protocol: v1.ProtocolTCP}].
		AffinityList(snapshot.Endpoint{IP: mustAddr("10.244.3.11"), Port: 8080})
	cases := []struct {
		name   string
		pkt    iptrace.Packet
		recent map[string]string // list -> address already on it
		want   flowWant
	}{
		{"pod to cluster IP", tcp(localPod, "10.96.0.10", 80, false), nil, flowWant{both, nil, accept}},
		{"outside to cluster IP is masqueraded", tcp(outside, "10.96.0.10", 80, false), nil, flowWant{both, both, accept}},
		{"node to cluster IP is masqueraded", tcp(nodeIP, "10.96.0.10", 80, true), nil, flowWant{both, both, accept}},
		{"pod to itself through its Service hairpins", tcp("10.244.1.5", "10.96.0.10", 80, false), nil,
			flowWant{both, []string{"10.244.1.5:8080"}, accept}},
		{"cluster IP on another port is untouched", tcp(localPod, "10.96.0.10", 81, false), nil,
			flowWant{[]string{"10.96.0.10:81"}, nil, accept}},
		{"node port, policy Cluster", tcp(outside, nodeIP, 30080, false), nil,
			flowWant{[]string{"10.244.2.7:8080"}, []string{"10.244.2.7:8080"}, accept}},
		{"node port, policy Local, keeps the client address", tcp(outside, nodeIP, 30081, false), nil,
			flowWant{[]string{"10.244.1.8:8080"}, nil, accept}},
		{"node port, policy Local, pod traffic goes anywhere", tcp(localPod, nodeIP, 30081, false), nil,
			flowWant{[]string{"10.244.1.8:8080", "10.244.2.8:8080"}, nil, accept}},
		{"node port, policy Local, node traffic goes anywhere masqueraded", tcp(nodeIP, nodeIP, 30081, true), nil,
			flowWant{[]string{"10.244.1.8:8080", "10.244.2.8:8080"}, []string{"10.244.1.8:8080", "10.244.2.8:8080"}, accept}},
		{"node port, policy Local, no local endpoint drops", tcp(outside, nodeIP, 30082, false), nil,
			flowWant{nil, nil, []iptrace.Verdict{iptrace.VerdictDrop}}},
		{"cluster IP without endpoints rejects", tcp(localPod, "10.96.0.50", 80, false), nil,
			flowWant{nil, nil, []iptrace.Verdict{iptrace.VerdictReject}}},
		{"node port without endpoints rejects", tcp(outside, nodeIP, 30085, false), nil,
			flowWant{nil, nil, []iptrace.Verdict{iptrace.VerdictReject}}},
		{"internal policy Local without local endpoints drops", tcp(localPod, "10.96.0.60", 80, false), nil,
			flowWant{nil, nil, []iptrace.Verdict{iptrace.VerdictDrop}}},
		{"affinity, new client", tcp(localPod, "10.96.0.70", 80, false), nil,
			flowWant{[]string{"10.244.2.11:8080", "10.244.3.11:8080"}, nil, accept}},
		{"affinity, known client sticks", tcp(localPod, "10.96.0.70", 80, false), map[string]string{stickyList: localPod},
			flowWant{[]string{"10.244.3.11:8080"}, nil, accept}},
		{"affinity, other client is not pinned", tcp("10.244.1.10", "10.96.0.70", 80, false), map[string]string{stickyList: localPod},
			flowWant{[]string{"10.244.2.11:8080", "10.244.3.11:8080"}, nil, accept}},
		{"UDP", iptrace.Packet{Source: localPod, Destination: "10.96.0.80", Protocol: "udp", DestinationPort: 53}, nil,
			flowWant{[]string{"10.244.2.12:8080"}, nil, accept}},
		{"UDP port with TCP is untouched", tcp(localPod, "10.96.0.80", 53, false), nil,
			flowWant{[]string{"10.96.0.80:53"}, nil, accept}},
		{"external IP from outside is masqueraded", tcp(outside, "192.0.2.7", 80, false), nil,
			flowWant{[]string{"10.244.2.13:8080"}, []string{"10.244.2.13:8080"}, accept}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := tracer
			if tc.recent != nil {
				tr = newFlowTracer(t, snap)
				for list, addr := range tc.recent {
					if err := tr.AddRecent(list, addr); err != nil {
						t.Fatal(err)
					}
				}
			}
			res, err := tr.Trace(tc.pkt)
			if err != nil {
				t.Fatalf("tracing: %v", err)
			}
			if diff := cmp.Diff(tc.want, summarize(res)); diff != "" {
				t.Errorf("flow (-want +got):\n%s\n%s", diff, res)
			}
		})
	}
}

// newFlowTracer applies the node's own rules (restore texts, if any), the
// full restore text and the hooks to a Fake and returns a tracer over the
// result, for a node owning nodeIP.
func newFlowTracer(t *testing.T, snap *snapshot.Snapshot, node ...string) *iptrace.Tracer {
	t.Helper()
	return newConfigTracer(t, Config{}, snap, node...)
}

// newConfigTracer is newFlowTracer rendering with cfg.
func newConfigTracer(t *testing.T, cfg Config, snap *snapshot.Snapshot, node ...string) *iptrace.Tracer {
	t.Helper()
	fake := iptablestest.NewFake()
	ctx := context.Background()
	for _, text := range node {
		if err := fake.Restore(ctx, []byte(text)); err != nil {
			t.Fatalf("restoring the node's own rules: %v", err)
		}
	}
	text, _ := WriteFull(Render(cfg, snap), nil)
	if err := fake.Restore(ctx, text); err != nil {
		t.Fatalf("restoring: %v", err)
	}
	for _, h := range Hooks() {
		if _, err := fake.EnsureRule(ctx, h.Table, h.Chain, h.Args...); err != nil {
			t.Fatalf("ensuring hook %v: %v", h, err)
		}
	}
	tr, err := iptrace.New(fake.Dump(), nodeIP)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func tcp(src, dst string, port uint16, local bool) iptrace.Packet {
	return iptrace.Packet{Source: src, Destination: dst, Protocol: "tcp", DestinationPort: port, Local: local}
}

// summarize reduces a trace result to what the tests assert.
func summarize(res *iptrace.Result) flowWant {
	got := flowWant{Verdicts: res.Verdicts()}
	if eps := res.Endpoints(); len(eps) > 0 {
		got.Endpoints = eps
	}
	for _, p := range res.Paths {
		if p.Verdict == iptrace.VerdictAccept && p.Masquerade && !slices.Contains(got.Masqueraded, p.Destination) {
			got.Masqueraded = append(got.Masqueraded, p.Destination)
		}
	}
	slices.Sort(got.Masqueraded)
	return got
}
