package render

import (
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// TestRenderChangedHairpin checks that a partial render's hairpin chain is
// the one a full render of the same snapshot builds, whether the change
// touches the hairpin addresses or not, and that an untouched chain is
// reused rather than rebuilt.
func TestRenderChangedHairpin(t *testing.T) {
	services := []*v1.Service{svc("ns1", "a", "10.96.0.1"), svc("ns1", "b", "10.96.0.2"), svc("ns1", "c", "10.96.0.3")}
	slicesOf := func(bLocal, bRemote string) []*discoveryv1.EndpointSlice {
		return []*discoveryv1.EndpointSlice{
			slice("ns1", "a", "a-1", "p80", 8080, readyEp("10.244.1.1", testNode)),
			slice("ns1", "b", "b-1", "p80", 8080, readyEp(bLocal, testNode), readyEp(bRemote, "node-b")),
			slice("ns1", "c", "c-1", "p80", 8080, readyEp("10.244.1.1", testNode)),
		}
	}
	port := func(name string) snapshot.ServicePortName {
		return snapshot.ServicePortName{Namespace: "ns1", Name: name, Port: "p80", Protocol: v1.ProtocolTCP}
	}
	prevSnap := build(t, services, slicesOf("10.244.1.2", "10.244.2.2"))
	prev := Render(Config{}, prevSnap)
	for _, tc := range []struct {
		name    string
		snap    *snapshot.Snapshot
		changed map[snapshot.ServicePortName]bool
		reuse   bool
	}{
		{"remote endpoint changed", build(t, services, slicesOf("10.244.1.2", "10.244.2.9")),
			map[snapshot.ServicePortName]bool{port("b"): true}, true},
		{"local endpoint changed", build(t, services, slicesOf("10.244.1.7", "10.244.2.2")),
			map[snapshot.ServicePortName]bool{port("b"): true}, false},
		// Its address stays (port a has it too), but the chain is rebuilt.
		{"port with a shared address removed", build(t, services[:2], slicesOf("10.244.1.2", "10.244.2.2")[:2]),
			map[snapshot.ServicePortName]bool{port("c"): true}, false},
		{"port removed without being named changed", func() *snapshot.Snapshot {
			s := *prevSnap
			s.Ports = maps.Clone(prevSnap.Ports)
			delete(s.Ports, port("b"))
			return &s
		}(), nil, false},
		{"port added without being named changed", func() *snapshot.Snapshot {
			extra := build(t, []*v1.Service{svc("ns1", "d", "10.96.0.4")},
				[]*discoveryv1.EndpointSlice{slice("ns1", "d", "d-1", "p80", 8080, readyEp("10.244.1.9", testNode))})
			s := *prevSnap
			s.Ports = maps.Clone(prevSnap.Ports)
			maps.Copy(s.Ports, extra.Ports)
			return &s
		}(), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := RenderChanged(Config{}, tc.snap, prev, tc.changed)
			want := Render(Config{}, tc.snap)
			if diff := cmp.Diff(want.Hairpin, got.Hairpin); diff != "" {
				t.Errorf("hairpin chain (-full render +partial render):\n%s", diff)
			}
			reused := len(got.Hairpin.Rules) > 0 && &got.Hairpin.Rules[0] == &prev.Hairpin.Rules[0]
			if reused != tc.reuse {
				t.Errorf("hairpin chain reused: %v, want %v", reused, tc.reuse)
			}
		})
	}
}

func TestHairpinComment(t *testing.T) {
	a := mustAddr("10.244.1.5")
	port := func(name, p string, proto v1.Protocol) snapshot.ServicePortName {
		return snapshot.ServicePortName{Namespace: "ns1", Name: name, Port: p, Protocol: proto}
	}
	for _, tc := range []struct {
		name   string
		owners []snapshot.ServicePortName
		want   string
	}{
		{"one port", []snapshot.ServicePortName{port("web", "http", v1.ProtocolTCP)}, "svccheck hairpin 10.244.1.5 for ns1/web:http"},
		{"sorted, a TCP and a UDP port of one name once",
			[]snapshot.ServicePortName{port("dns", "dns", v1.ProtocolUDP), port("api", "grpc", v1.ProtocolTCP), port("dns", "dns", v1.ProtocolTCP)},
			"svccheck hairpin 10.244.1.5 for ns1/api:grpc, ns1/dns:dns"},
		{"all that fit", []snapshot.ServicePortName{
			port("e", "p", v1.ProtocolTCP), port("d", "p", v1.ProtocolTCP), port("c", "p", v1.ProtocolTCP),
			port("b", "p", v1.ProtocolTCP), port("a", "p", v1.ProtocolTCP)},
			"svccheck hairpin 10.244.1.5 for ns1/a:p, ns1/b:p, ns1/c:p, ns1/d:p, ns1/e:p"},
		// Names of 63 characters: two fit in 255 bytes with the count.
		{"the rest counted", []snapshot.ServicePortName{
			port(long("a"), "http", v1.ProtocolTCP), port(long("b"), "http", v1.ProtocolTCP),
			port(long("c"), "http", v1.ProtocolTCP), port(long("d"), "http", v1.ProtocolTCP)},
			"svccheck hairpin 10.244.1.5 for ns1/" + long("a") + ":http, ns1/" + long("b") + ":http and 2 more"},
		// Longer than the API server lets through, to be safe anyway.
		{"not even one fits", []snapshot.ServicePortName{
			{Namespace: long("n"), Name: long("a"), Port: strings.Repeat("p", 150), Protocol: v1.ProtocolTCP},
			{Namespace: long("n"), Name: long("b"), Port: strings.Repeat("p", 150), Protocol: v1.ProtocolTCP}},
			"svccheck hairpin 10.244.1.5 for 2 Service ports"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := hairpinComment(a, tc.owners)
			if got != tc.want {
				t.Errorf("hairpinComment = %q, want %q", got, tc.want)
			}
			if len(got) > maxCommentLen {
				t.Errorf("hairpinComment is %d bytes long, more than iptables takes (%d)", len(got), maxCommentLen)
			}
		})
	}
}

// long returns a 63-character name starting with prefix.
func long(prefix string) string { return prefix + strings.Repeat("x", 63-len(prefix)) }
