package snapshot

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
)

func TestBuildServiceFields(t *testing.T) {
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	prefixes := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, p := range s {
			out = append(out, netip.MustParsePrefix(p))
		}
		return out
	}
	cases := []struct {
		name     string
		svc      *v1.Service
		want     []ServicePort // endpoint sets and chain names are ignored
		problems []string
	}{{
		name: "defaults: unnamed port, TCP",
		svc: service(func(s *v1.Service) {
			s.Spec.Ports = []v1.ServicePort{{Port: 53}}
		}),
		want: []ServicePort{{Name: ServicePortName{Namespace: "ns", Name: "web", Protocol: v1.ProtocolTCP},
			ClusterIPs: addrs("10.96.0.10"), Port: 53, Protocol: v1.ProtocolTCP}},
	}, {
		name: "LoadBalancer, eTP Local, affinity, dual-stack",
		svc: service(func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeLoadBalancer
			s.Spec.ClusterIPs = []string{"fd00::10", "10.96.0.10"}
			s.Spec.Ports[0].NodePort = 30080
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 31000
			s.Spec.ExternalIPs = []string{"192.0.2.9", "192.0.2.7", "fd00::1", "192.0.2.7"}
			s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "198.51.100.9"}, {Hostname: "lb.example"}}
			s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		}),
		want: []ServicePort{{Name: webHTTP, ClusterIPs: addrs("10.96.0.10"), Port: 80, Protocol: v1.ProtocolTCP,
			NodePort: 30080, ExternalIPs: addrs("192.0.2.7", "192.0.2.9"), LoadBalancerIPs: addrs("198.51.100.9"),
			ExternalPolicyLocal: true, HealthCheckNodePort: 31000,
			SessionAffinityClientIP: true, StickyMaxAgeSeconds: DefaultStickyMaxAgeSeconds}},
	}, {
		name: "loadBalancerSourceRanges: IPv4 ones masked, sorted, deduplicated",
		svc: service(func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeLoadBalancer
			s.Spec.Ports[0].NodePort = 30080
			s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "198.51.100.9"}}
			s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24", " 192.0.2.77/25 ", "fd00::/64", "203.0.113.0/24", "bogus", "192.0.2.0/24"}
		}),
		want: []ServicePort{{Name: webHTTP, ClusterIPs: addrs("10.96.0.10"), Port: 80, Protocol: v1.ProtocolTCP,
			NodePort: 30080, LoadBalancerIPs: addrs("198.51.100.9"),
			LoadBalancerSourceRanges: prefixes("192.0.2.0/24", "192.0.2.0/25", "203.0.113.0/24")}},
		problems: []string{`Service ns/web: ignoring loadBalancerSourceRanges entry "bogus": not a CIDR`},
	}, {
		name: "loadBalancerSourceRanges holding the node's address",
		svc: service(func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeLoadBalancer
			s.Spec.Ports[0].NodePort = 30080
			s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "198.51.100.9"}}
			s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24", "172.18.0.0/16"}
		}),
		want: []ServicePort{{Name: webHTTP, ClusterIPs: addrs("10.96.0.10"), Port: 80, Protocol: v1.ProtocolTCP,
			NodePort: 30080, LoadBalancerIPs: addrs("198.51.100.9"),
			LoadBalancerSourceRanges: prefixes("172.18.0.0/16", "203.0.113.0/24"), SourceRangesHoldNode: true}},
	}, {
		name: "eTP Local on a plain ClusterIP Service does not apply",
		svc: service(func(s *v1.Service) {
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			local := v1.ServiceInternalTrafficPolicyLocal
			s.Spec.InternalTrafficPolicy = &local
		}),
		want: []ServicePort{{Name: webHTTP, ClusterIPs: addrs("10.96.0.10"), Port: 80, Protocol: v1.ProtocolTCP,
			InternalPolicyLocal: true}},
	}, {
		name: "unparsable cluster IP skips the Service",
		svc:  service(func(s *v1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.300"} }),
		problems: []string{`Service ns/web: skipping Service: parsing cluster IP "10.96.0.300": ` +
			`ParseAddr("10.96.0.300"): IPv4 field has value >255`},
	}, {
		name: "bad ports are skipped, good ones kept",
		svc: service(func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports,
				v1.ServicePort{Name: "zero", Port: 0},
				v1.ServicePort{Name: "icmp", Port: 1, Protocol: "ICMP"},
				v1.ServicePort{Name: "np", Port: 81, NodePort: 70000},
				v1.ServicePort{Name: "http", Port: 82, Protocol: v1.ProtocolTCP})
			s.Spec.ExternalIPs = []string{"not-an-ip"}
			s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr(int32(0))}}
		}),
		want: []ServicePort{{Name: webHTTP, ClusterIPs: addrs("10.96.0.10"), Port: 80, Protocol: v1.ProtocolTCP,
			SessionAffinityClientIP: true, StickyMaxAgeSeconds: DefaultStickyMaxAgeSeconds}},
		problems: []string{
			`Service ns/web: ignoring externalIPs entry "not-an-ip": not an IP address`,
			`Service ns/web: using the default affinity timeout: timeoutSeconds 0 out of range 1-86400`,
			`Service ns/web: skipping port "zero": port 0 out of range`,
			`Service ns/web: skipping port "icmp": unsupported protocol "ICMP"`,
			`Service ns/web: skipping port "np": nodePort 70000 out of range`,
			`Service ns/web: skipping port "http": duplicate name and protocol`,
		},
	}, {
		name: "IPv6-only Service is not this proxy's",
		svc:  service(func(s *v1.Service) { s.Spec.ClusterIPs = []string{"fd00::10"}; s.Spec.ClusterIP = "fd00::10" }),
	}}
	ignore := cmpopts.IgnoreFields(ServicePort{}, "Hash", "SVCChain", "EXTChain", "CLUChain", "FWChain")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap, problems := Build(testConfig, []*v1.Service{tc.svc}, nil)
			var got []ServicePort
			for _, n := range snap.Names() {
				got = append(got, *snap.Ports[n])
			}
			if diff := cmp.Diff(tc.want, got, addrComparer, cmpopts.EquateComparable(netip.Prefix{}), ignore); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			var gotProblems []string
			for _, p := range problems {
				gotProblems = append(gotProblems, p.String())
			}
			if diff := cmp.Diff(tc.problems, gotProblems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChainNames(t *testing.T) {
	snap, _ := Build(testConfig, []*v1.Service{service()}, nil)
	p := snap.Ports[webHTTP]
	// sha256("ns/web:http/TCP"), base32, first 16 characters.
	want := []string{"SVCCHK-SVC-KT6X3WYP5PK2SGRG", "SVCCHK-EXT-KT6X3WYP5PK2SGRG", "SVCCHK-CLU-KT6X3WYP5PK2SGRG", "SVCCHK-FW-KT6X3WYP5PK2SGRG"}
	if diff := cmp.Diff(want, []string{p.SVCChain, p.EXTChain, p.CLUChain, p.FWChain}); diff != "" {
		t.Errorf("chain names (-want +got):\n%s", diff)
	}
	for _, n := range append(want, p.AffinityList(endpoint("10.244.1.5", 8080, "", true, true, false, false))) {
		if len(n) > 28 {
			t.Errorf("%s is longer than 28 characters", n)
		}
	}
}

func TestChanged(t *testing.T) {
	base := func() []*v1.Service {
		return []*v1.Service{service(), service(func(s *v1.Service) { s.Name = "api"; s.Spec.ClusterIPs = []string{"10.96.0.11"} })}
	}
	old, _ := Build(testConfig, base(), nil)
	cur := base()
	cur[1].Spec.Ports[0].Port = 8080
	cur = append(cur, service(func(s *v1.Service) { s.Name = "new" }))
	next, _ := Build(testConfig, cur[1:], nil)
	api := ServicePortName{Namespace: "ns", Name: "api", Port: "http", Protocol: v1.ProtocolTCP}
	newName := ServicePortName{Namespace: "ns", Name: "new", Port: "http", Protocol: v1.ProtocolTCP}
	want := map[ServicePortName]bool{webHTTP: true, api: true, newName: true}
	if diff := cmp.Diff(want, Changed(old, next)); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}
	if got := Changed(old, old); len(got) != 0 {
		t.Errorf("Changed(old, old) = %v, want nothing", got)
	}
}
