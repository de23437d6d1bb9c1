package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// shapeFlowServices is the cluster of TestPacketFlowShapes: the Service
// shapes TestPacketFlow leaves out.
func shapeFlowServices() ([]*v1.Service, []*discoveryv1.EndpointSlice) {
	sctp := func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolSCTP; s.Spec.Ports[0].Port = 9999 }
	// Two ports; their target ports are names the pods resolve differently.
	multi := func(s *v1.Service) {
		s.Spec.Ports = []v1.ServicePort{
			{Name: "http", Port: 80, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromString("web")},
			{Name: "metrics", Port: 9100, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromString("prom")},
		}
	}
	lb := func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeLoadBalancer
		s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "198.51.100.9"}}
	}
	terminating := func(ip, node string) ep { return ep{ip: ip, node: node, serving: true, terminating: true} }
	notServing := func(ip, node string) ep { return ep{ip: ip, node: node, terminating: true} }
	// Two slices for the multi-port Service, each resolving the names to
	// other numbers, as pods of two ReplicaSets can.
	multiSlice := func(name string, web, prom int32, ip string) *discoveryv1.EndpointSlice {
		es := slice("ns2", "multi", name, "http", web, readyEp(ip, "node-b"))
		proto, metrics := v1.ProtocolTCP, "metrics"
		es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: &metrics, Port: &prom, Protocol: &proto})
		return es
	}
	return []*v1.Service{
			svc("ns2", "sctp", "10.96.1.10", sctp),
			svc("ns2", "multi", "10.96.1.20", multi),
			svc("ns2", "draining", "10.96.1.30"),
			svc("ns2", "mixed", "10.96.1.40"),
			svc("ns2", "gone", "10.96.1.50"),
			// No selector: its slice is made by hand, the proxy cannot tell.
			svc("ns2", "manual", "10.96.1.60"),
			svc("ns2", "itp-local", "10.96.1.70", itpLocal),
			svc("ns2", "lb", "10.96.1.80", lb, nodePort(30090)),
			svc("ns2", "lb-local", "10.96.1.90", lb, nodePort(30091), etpLocal(31090),
				func(s *v1.Service) { s.Status.LoadBalancer.Ingress[0].IP = "198.51.100.10" }),
		}, []*discoveryv1.EndpointSlice{
			withProtocol(slice("ns2", "sctp", "sctp-a", "p80", 9999, readyEp("10.244.2.20", "node-b")), v1.ProtocolSCTP),
			multiSlice("multi-a", 8080, 9090, "10.244.2.21"),
			multiSlice("multi-b", 8081, 9091, "10.244.3.21"),
			slice("ns2", "draining", "draining-a", "p80", 8080,
				terminating("10.244.2.22", "node-b"), notServing("10.244.3.22", "node-c")),
			slice("ns2", "mixed", "mixed-a", "p80", 8080,
				readyEp("10.244.2.23", "node-b"), terminating("10.244.3.23", "node-c")),
			slice("ns2", "gone", "gone-a", "p80", 8080, notServing("10.244.2.24", "node-b")),
			slice("ns2", "manual", "manual-by-hand", "p80", 3306, readyEp("192.168.50.5", "")),
			slice("ns2", "itp-local", "itp-local-a", "p80", 8080,
				readyEp("10.244.1.25", testNode), readyEp("10.244.2.25", "node-b")),
			slice("ns2", "lb", "lb-a", "p80", 8080, readyEp("10.244.2.26", "node-b")),
			slice("ns2", "lb-local", "lb-local-a", "p80", 8080,
				readyEp("10.244.1.27", testNode), readyEp("10.244.2.27", "node-b")),
		}
}

// TestPacketFlowShapes traces packets through SCTP, multi-port Services
// with named target ports, terminating endpoints, a selector-less Service,
// internalTrafficPolicy Local with a local endpoint and load balancer
// addresses.
func TestPacketFlowShapes(t *testing.T) {
	services, slices := shapeFlowServices()
	tracer := newFlowTracer(t, build(t, services, slices))
	accept := []iptrace.Verdict{iptrace.VerdictAccept}
	reject := []iptrace.Verdict{iptrace.VerdictReject}
	cases := []struct {
		name string
		pkt  iptrace.Packet
		want flowWant
	}{
		{"SCTP", proto("sctp", localPod, "10.96.1.10", 9999), flowWant{[]string{"10.244.2.20:9999"}, nil, accept}},
		{"SCTP port with TCP is untouched", tcp(localPod, "10.96.1.10", 9999, false),
			flowWant{[]string{"10.96.1.10:9999"}, nil, accept}},
		{"named target port resolves per slice", tcp(localPod, "10.96.1.20", 80, false),
			flowWant{[]string{"10.244.2.21:8080", "10.244.3.21:8081"}, nil, accept}},
		{"second port of a multi-port Service", tcp(localPod, "10.96.1.20", 9100, false),
			flowWant{[]string{"10.244.2.21:9090", "10.244.3.21:9091"}, nil, accept}},
		{"only terminating endpoints: serving ones take the traffic", tcp(localPod, "10.96.1.30", 80, false),
			flowWant{[]string{"10.244.2.22:8080"}, nil, accept}},
		{"ready endpoints win over terminating ones", tcp(localPod, "10.96.1.40", 80, false),
			flowWant{[]string{"10.244.2.23:8080"}, nil, accept}},
		{"no serving endpoint rejects", tcp(localPod, "10.96.1.50", 80, false), flowWant{nil, nil, reject}},
		{"selector-less Service with a hand-made slice", tcp(localPod, "10.96.1.60", 80, false),
			flowWant{[]string{"192.168.50.5:3306"}, nil, accept}},
		{"internal policy Local uses only the local endpoint", tcp(localPod, "10.96.1.70", 80, false),
			flowWant{[]string{"10.244.1.25:8080"}, nil, accept}},
		{"load balancer IP from outside is masqueraded", tcp(outside, "198.51.100.9", 80, false),
			flowWant{[]string{"10.244.2.26:8080"}, []string{"10.244.2.26:8080"}, accept}},
		{"node port of a load balancer Service", tcp(outside, nodeIP, 30090, false),
			flowWant{[]string{"10.244.2.26:8080"}, []string{"10.244.2.26:8080"}, accept}},
		{"load balancer IP, policy Local, keeps the client address", tcp(outside, "198.51.100.10", 80, false),
			flowWant{[]string{"10.244.1.27:8080"}, nil, accept}},
	}
	// A node whose firewall drops what it does not accept: the health
	// check node port must still get through, and only it.
	dropping := newFlowTracer(t, build(t, services, slices), "*filter\n:INPUT DROP [0:0]\nCOMMIT\n")
	firewalled := []struct {
		name string
		pkt  iptrace.Packet
		want flowWant
	}{
		{"health check node port is accepted by a dropping firewall", tcp(outside, nodeIP, 31090, false),
			flowWant{[]string{nodeIP + ":31090"}, nil, accept}},
		{"other node ports stay dropped by it", tcp(outside, nodeIP, 31091, false),
			flowWant{nil, nil, []iptrace.Verdict{iptrace.VerdictDrop}}},
	}
	for _, tc := range firewalled {
		t.Run(tc.name, func(t *testing.T) { checkFlow(t, dropping, tc.pkt, tc.want) })
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkFlow(t, tracer, tc.pkt, tc.want) })
	}
}

// checkFlow traces pkt and compares what it comes to with want.
func checkFlow(t *testing.T, tr *iptrace.Tracer, pkt iptrace.Packet, want flowWant) {
	t.Helper()
	res, err := tr.Trace(pkt)
	if err != nil {
		t.Fatalf("tracing: %v", err)
	}
	if diff := cmp.Diff(want, summarize(res)); diff != "" {
		t.Errorf("flow (-want +got):\n%s\n%s", diff, res)
	}
}

// proto returns a packet of protocol p from a pod or outside host.
func proto(p, src, dst string, port uint16) iptrace.Packet {
	return iptrace.Packet{Source: src, Destination: dst, Protocol: p, DestinationPort: port}
}
