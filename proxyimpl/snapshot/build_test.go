package snapshot

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var addrComparer = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

var testConfig = Config{
	NodeName: "node-a",
	NodeIPs:  []netip.Addr{netip.MustParseAddr("172.18.0.2")},
}

func service(mutate ...func(*v1.Service)) *v1.Service {
	s := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

type testEp struct {
	ip, node                    string
	ready, serving, terminating *bool
}

func ptr[T any](v T) *T { return &v }

func endpointSlice(name string, addrType discoveryv1.AddressType, port int32, eps ...testEp) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: addrType,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: &port, Protocol: ptr(v1.ProtocolTCP)}},
	}
	for _, e := range eps {
		de := discoveryv1.Endpoint{Addresses: []string{e.ip},
			Conditions: discoveryv1.EndpointConditions{Ready: e.ready, Serving: e.serving, Terminating: e.terminating}}
		if e.node != "" {
			de.NodeName = ptr(e.node)
		}
		s.Endpoints = append(s.Endpoints, de)
	}
	return s
}

func endpoint(ip string, port int32, node string, ready, serving, terminating, local bool) Endpoint {
	return Endpoint{IP: netip.MustParseAddr(ip), Port: port, NodeName: node,
		Ready: ready, Serving: serving, Terminating: terminating, Local: local}
}

var webHTTP = ServicePortName{Namespace: "ns", Name: "web", Port: "http", Protocol: v1.ProtocolTCP}

func TestCheckSlices(t *testing.T) {
	bad := endpointSlice("bad", discoveryv1.AddressTypeIPv4, 0, testEp{ip: "10.244.1.300"}, testEp{ip: "fd00::1"}, testEp{ip: "10.244.1.5"})
	v6 := endpointSlice("v6", discoveryv1.AddressTypeIPv6, 0, testEp{ip: "fd00::1"})
	_, problems := Build(testConfig, []*v1.Service{service()}, []*discoveryv1.EndpointSlice{bad, v6})
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		`Service ns/web: EndpointSlice bad: skipping port "http": port 0 out of range`,
		`Service ns/web: EndpointSlice bad: skipping endpoint "10.244.1.300": not an IPv4 address`,
		`Service ns/web: EndpointSlice bad: skipping endpoint "fd00::1": not an IPv4 address`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestBuildEndpoints(t *testing.T) {
	yes, no := ptr(true), ptr(false)
	cases := []struct {
		name    string
		slices  []*discoveryv1.EndpointSlice
		all     []Endpoint
		cluster []Endpoint
		local   []Endpoint
		has     bool
	}{{
		name: "condition defaults and locality",
		slices: []*discoveryv1.EndpointSlice{endpointSlice("a", discoveryv1.AddressTypeIPv4, 8080,
			testEp{ip: "10.244.2.5", node: "node-b"}, testEp{ip: "10.244.1.5", node: "node-a"},
			testEp{ip: "172.18.0.2"})},
		all: []Endpoint{
			endpoint("10.244.1.5", 8080, "node-a", true, true, false, true),
			endpoint("10.244.2.5", 8080, "node-b", true, true, false, false),
			endpoint("172.18.0.2", 8080, "", true, true, false, true),
		},
		has: true,
	}, {
		name: "duplicates across slices: a ready copy wins, IPv6 and other ports ignored",
		slices: []*discoveryv1.EndpointSlice{
			endpointSlice("a", discoveryv1.AddressTypeIPv4, 8080, testEp{ip: "10.244.2.5", node: "node-b", ready: no}),
			endpointSlice("b", discoveryv1.AddressTypeIPv4, 8080, testEp{ip: "10.244.2.5", node: "node-b", ready: yes}),
			endpointSlice("c", discoveryv1.AddressTypeIPv6, 8080, testEp{ip: "fd00::5", node: "node-b"}),
			func() *discoveryv1.EndpointSlice {
				s := endpointSlice("d", discoveryv1.AddressTypeIPv4, 9090, testEp{ip: "10.244.2.6"})
				s.Ports[0].Name = ptr("metrics")
				return s
			}(),
		},
		all: []Endpoint{endpoint("10.244.2.5", 8080, "node-b", true, true, false, false)},
		has: true,
	}, {
		name: "terminating fallback is chosen per set",
		slices: []*discoveryv1.EndpointSlice{endpointSlice("a", discoveryv1.AddressTypeIPv4, 8080,
			testEp{ip: "10.244.1.5", node: "node-a", ready: no, serving: yes, terminating: yes},
			testEp{ip: "10.244.1.6", node: "node-a", ready: no, serving: no, terminating: yes},
			testEp{ip: "10.244.2.5", node: "node-b", ready: yes})},
		all: []Endpoint{
			endpoint("10.244.1.5", 8080, "node-a", false, true, true, true),
			endpoint("10.244.1.6", 8080, "node-a", false, false, true, true),
			endpoint("10.244.2.5", 8080, "node-b", true, true, false, false),
		},
		cluster: []Endpoint{endpoint("10.244.2.5", 8080, "node-b", true, true, false, false)},
		local:   []Endpoint{endpoint("10.244.1.5", 8080, "node-a", false, true, true, true)},
		has:     true,
	}, {
		name: "not ready and not serving is unusable",
		slices: []*discoveryv1.EndpointSlice{endpointSlice("a", discoveryv1.AddressTypeIPv4, 8080,
			testEp{ip: "10.244.2.5", node: "node-b", ready: no})},
		all: []Endpoint{endpoint("10.244.2.5", 8080, "node-b", false, false, false, false)},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap, problems := Build(testConfig, []*v1.Service{service()}, tc.slices)
			if len(problems) != 0 {
				t.Fatalf("problems: %v", problems)
			}
			p := snap.Ports[webHTTP]
			if p == nil {
				t.Fatalf("no port %v in %v", webHTTP, snap.Names())
			}
			cluster, local := tc.cluster, tc.local
			if cluster == nil && tc.has {
				cluster = tc.all
			}
			if local == nil {
				for _, e := range tc.all {
					if e.Local && e.Ready {
						local = append(local, e)
					}
				}
			}
			for _, c := range []struct {
				what      string
				want, got []Endpoint
			}{{"all", tc.all, p.Endpoints}, {"cluster", cluster, p.ClusterEndpoints}, {"local", local, p.LocalEndpoints}} {
				if diff := cmp.Diff(c.want, c.got, addrComparer); diff != "" {
					t.Errorf("%s endpoints (-want +got):\n%s", c.what, diff)
				}
			}
			if p.HasEndpoints != tc.has {
				t.Errorf("HasEndpoints = %v, want %v", p.HasEndpoints, tc.has)
			}
		})
	}
}

// TestHeadlessLabel checks the headless label where kube-proxy honours it:
// a Service carrying it is proxied, an EndpointSlice carrying it is not
// used.
func TestHeadlessLabel(t *testing.T) {
	labelled := service(func(s *v1.Service) { s.Labels = map[string]string{LabelHeadless: ""} })
	if !Proxied(labelled) {
		t.Error("a ClusterIP Service labelled headless is not proxied")
	}
	plain := endpointSlice("web-a", discoveryv1.AddressTypeIPv4, 8080, testEp{ip: "10.244.1.5", ready: ptr(true)})
	hidden := endpointSlice("web-b", discoveryv1.AddressTypeIPv4, 8080, testEp{ip: "10.244.2.5", ready: ptr(true)})
	hidden.Labels[LabelHeadless] = ""
	snap, problems := Build(testConfig, []*v1.Service{labelled}, []*discoveryv1.EndpointSlice{plain, hidden})
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	p := snap.Ports[webHTTP]
	if p == nil {
		t.Fatal("no port for the Service labelled headless")
	}
	var got []string
	for _, ep := range p.Endpoints {
		got = append(got, ep.IP.String())
	}
	if diff := cmp.Diff([]string{"10.244.1.5"}, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
}
