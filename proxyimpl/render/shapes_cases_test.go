package render

import (
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// shapeCase is one Service shape and the restore lines it must add.
type shapeCase struct {
	name     string
	services []*v1.Service
	slices   []*discoveryv1.EndpointSlice
	want     string
}

func nodePort(np int32) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = np
	}
}

func etpLocal(hc int32) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = hc
	}
}

func itpLocal(s *v1.Service) {
	local := v1.ServiceInternalTrafficPolicyLocal
	s.Spec.InternalTrafficPolicy = &local
}

func protocol(p v1.Protocol) func(*v1.Service) {
	return func(s *v1.Service) { s.Spec.Ports[0].Protocol = p }
}

func withProtocol(es *discoveryv1.EndpointSlice, p v1.Protocol) *discoveryv1.EndpointSlice {
	es.Ports[0].Protocol = &p
	return es
}

// twoEndpoints is a slice of ns1/svc1 port p80 with a local and a remote
// ready endpoint.
func twoEndpoints() *discoveryv1.EndpointSlice {
	return slice("ns1", "svc1", "svc1-a", "p80", 8080,
		readyEp("10.244.1.5", testNode), readyEp("10.244.2.5", "node-b"))
}

func remoteOnly() *discoveryv1.EndpointSlice {
	return slice("ns1", "svc1", "svc1-a", "p80", 8080, readyEp("10.244.2.5", "node-b"))
}

func shapeCases() []shapeCase {
	return []shapeCase{
		{name: "ClusterIP", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10")},
			slices: []*discoveryv1.EndpointSlice{twoEndpoints()}, want: wantClusterIP},
		{name: "multi-port", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "p443", Port: 443, Protocol: v1.ProtocolTCP})
		})}, slices: []*discoveryv1.EndpointSlice{func() *discoveryv1.EndpointSlice {
			es := slice("ns1", "svc1", "svc1-a", "p80", 8080, readyEp("10.244.1.5", testNode))
			name, port, proto := "p443", int32(8443), v1.ProtocolTCP
			es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto})
			return es
		}()}, want: wantMultiPort},
		{name: "named target port resolves per slice", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10")},
			slices: []*discoveryv1.EndpointSlice{
				slice("ns1", "svc1", "svc1-a", "p80", 8080, readyEp("10.244.1.5", testNode)),
				slice("ns1", "svc1", "svc1-b", "p80", 9090, readyEp("10.244.2.5", "node-b")),
			}, want: wantNamedPort},
		{name: "UDP", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", protocol(v1.ProtocolUDP))},
			slices: []*discoveryv1.EndpointSlice{withProtocol(remoteOnly(), v1.ProtocolUDP)}, want: wantUDP},
		{name: "SCTP", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", protocol(v1.ProtocolSCTP))},
			slices: []*discoveryv1.EndpointSlice{withProtocol(remoteOnly(), v1.ProtocolSCTP)}, want: wantSCTP},
		{name: "NodePort", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", nodePort(30080))},
			slices: []*discoveryv1.EndpointSlice{remoteOnly()}, want: wantNodePort},
		{name: "eTP Local with a local endpoint", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", nodePort(30080), etpLocal(31000))},
			slices: []*discoveryv1.EndpointSlice{twoEndpoints()}, want: wantETPLocal},
		{name: "eTP Local without local endpoints", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", nodePort(30080), etpLocal(31000))},
			slices: []*discoveryv1.EndpointSlice{remoteOnly()}, want: wantETPLocalNone},
		{name: "iTP Local", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", itpLocal)},
			slices: []*discoveryv1.EndpointSlice{twoEndpoints()}, want: wantITPLocal},
		{name: "iTP Local without local endpoints", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", itpLocal)},
			slices: []*discoveryv1.EndpointSlice{remoteOnly()}, want: wantITPLocalNone},
		{name: "iTP Local NodePort", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", itpLocal, nodePort(30080))},
			slices: []*discoveryv1.EndpointSlice{twoEndpoints()}, want: wantITPLocalNodePort},
		{name: "ClientIP affinity", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", func(s *v1.Service) {
			s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
			t := int32(60)
			s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: &t}}
		})}, slices: []*discoveryv1.EndpointSlice{twoEndpoints()}, want: wantAffinity},
		{name: "no endpoints", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", nodePort(30080), func(s *v1.Service) {
			s.Spec.ExternalIPs = []string{"192.0.2.7"}
		})}, want: wantNoEndpoints},
		{name: "terminating fallback", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10")},
			slices: []*discoveryv1.EndpointSlice{slice("ns1", "svc1", "svc1-a", "p80", 8080,
				ep{ip: "10.244.1.5", node: testNode, serving: true, terminating: true},
				ep{ip: "10.244.2.5", node: "node-b", serving: false, terminating: true},
				ep{ip: "10.244.3.5", node: "node-c"})}, want: wantTerminating},
		{name: "skipped Services", services: []*v1.Service{
			svc("ns1", "headless", "None"),
			svc("ns1", "external-name", "", func(s *v1.Service) {
				s.Spec.Type = v1.ServiceTypeExternalName
				s.Spec.ExternalName = "example.com"
			}),
			svc("ns1", "other-proxy", "10.96.0.12", func(s *v1.Service) {
				s.Labels = map[string]string{"service.kubernetes.io/service-proxy-name": "other"}
			}),
		}, slices: []*discoveryv1.EndpointSlice{
			slice("ns1", "headless", "h", "p80", 80, readyEp("10.244.1.5", testNode)),
			slice("ns1", "other-proxy", "o", "p80", 80, readyEp("10.244.1.5", testNode)),
		}, want: "*nat\n*filter\n"},
		{name: "externalIPs and LoadBalancer", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", nodePort(30080), func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeLoadBalancer
			s.Spec.ExternalIPs = []string{"192.0.2.7"}
			s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "198.51.100.9"}}
		})}, slices: []*discoveryv1.EndpointSlice{remoteOnly()}, want: wantExternalIPs},
		{name: "selector-less with a hand-made slice", services: []*v1.Service{svc("ns1", "svc1", "10.96.0.10", func(s *v1.Service) {
			s.Spec.Ports[0].Name = ""
		})}, slices: []*discoveryv1.EndpointSlice{slice("ns1", "svc1", "manual", "", 5432,
			ep{ip: "192.0.2.50", ready: true, serving: true})}, want: wantSelectorless},
	}
}
