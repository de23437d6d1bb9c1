package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
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

// terminatingEp returns a serving, terminating, not ready endpoint on node.
func terminatingEp(ip, node string) ep {
	return ep{ip: ip, node: node, serving: true, terminating: true}
}

// TestBreakages traces packets through an intact and a broken rendering of
// the same Services: each breakage must change exactly the flow it names,
// and leave the other flows of the table as they were.
func TestBreakages(t *testing.T) {
	services := []*v1.Service{
		svc("ns1", "term", "10.96.0.10", nodePort(30010)),
		svc("ns1", "local", "10.96.0.20", nodePort(30020), etpLocal(31020)),
		svc("ns1", "empty", "10.96.0.30", nodePort(30030)),
		svc("ns1", "plain", "10.96.0.40"),
	}
	endpoints := []*discoveryv1.EndpointSlice{
		slice("ns1", "term", "term-a", "p80", 8080, terminatingEp("10.244.2.5", "node-b")),
		slice("ns1", "local", "local-a", "p80", 8080, readyEp("10.244.1.6", testNode), readyEp("10.244.2.6", "node-b")),
		slice("ns1", "plain", "plain-a", "p80", 8080, readyEp("10.244.2.7", "node-b"), readyEp("10.244.3.7", "node-c")),
	}
	snap := build(t, services, endpoints)
	accept := []iptrace.Verdict{iptrace.VerdictAccept}
	reject := []iptrace.Verdict{iptrace.VerdictReject}
	drop := []iptrace.Verdict{iptrace.VerdictDrop}
	term := flowWant{Endpoints: []string{"10.244.2.5:8080"}, Verdicts: accept}
	flows := []struct {
		name string
		pkt  iptrace.Packet
		want flowWant
	}{
		{"pod to terminating-only cluster IP", tcp(localPod, "10.96.0.10", 80, false), term},
		{"outside to terminating-only node port", tcp(outside, nodeIP, 30010, false),
			flowWant{Endpoints: []string{"10.244.2.5:8080"}, Masqueraded: []string{"10.244.2.5:8080"}, Verdicts: accept}},
		{"outside to eTP Local node port", tcp(outside, nodeIP, 30020, false),
			flowWant{Endpoints: []string{"10.244.1.6:8080"}, Verdicts: accept}},
		{"pod to empty cluster IP", tcp(localPod, "10.96.0.30", 80, false), flowWant{Verdicts: reject}},
		{"outside to empty node port", tcp(outside, nodeIP, 30030, false), flowWant{Verdicts: reject}},
		{"pod to plain cluster IP", tcp(localPod, "10.96.0.40", 80, false),
			flowWant{Endpoints: []string{"10.244.2.7:8080", "10.244.3.7:8080"}, Verdicts: accept}},
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		// changed maps the flows the breakage changes to what they
		// come to instead; every other flow stays as intact.
		changed map[string]flowWant
	}{
		{"intact", Config{}, nil},
		{"terminating", Config{BreakTerminating: true}, map[string]flowWant{
			"pod to terminating-only cluster IP":    {Verdicts: reject},
			"outside to terminating-only node port": {Verdicts: reject},
		}},
		{"etplocal", Config{BreakETPLocal: true}, map[string]flowWant{
			"outside to eTP Local node port": {
				Endpoints:   []string{"10.244.1.6:8080", "10.244.2.6:8080"},
				Masqueraded: []string{"10.244.1.6:8080", "10.244.2.6:8080"}, Verdicts: accept},
		}},
		{"reject", Config{BreakReject: true}, map[string]flowWant{
			"pod to empty cluster IP":    {Verdicts: drop},
			"outside to empty node port": {Verdicts: drop},
		}},
		{"all three", Config{BreakTerminating: true, BreakETPLocal: true, BreakReject: true}, map[string]flowWant{
			"pod to terminating-only cluster IP":    {Verdicts: drop},
			"outside to terminating-only node port": {Verdicts: drop},
			"outside to eTP Local node port": {
				Endpoints:   []string{"10.244.1.6:8080", "10.244.2.6:8080"},
				Masqueraded: []string{"10.244.1.6:8080", "10.244.2.6:8080"}, Verdicts: accept},
			"pod to empty cluster IP":    {Verdicts: drop},
			"outside to empty node port": {Verdicts: drop},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newConfigTracer(t, tc.cfg, snap)
			for _, fl := range flows {
				want, ok := tc.changed[fl.name]
				if !ok {
					want = fl.want
				}
				res, err := tr.Trace(fl.pkt)
				if err != nil {
					t.Fatalf("%s: tracing: %v", fl.name, err)
				}
				if diff := cmp.Diff(want, summarize(res)); diff != "" {
					t.Errorf("%s (-want +got):\n%s\n%s", fl.name, diff, res)
				}
			}
		})
	}
}
