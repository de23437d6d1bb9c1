package integration

import (
	"fmt"
	"net/netip"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// testNamespace holds every test Service.
const testNamespace = "it"

// svcOpt tweaks a Service.
type svcOpt func(*v1.Service)

// newService returns a ClusterIP Service with one port named "p" of proto,
// port, targeting echoPort.
func newService(name string, vip netip.Addr, proto v1.Protocol, port int32, opts ...svcOpt) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name},
		Spec: v1.ServiceSpec{
			Type:       v1.ServiceTypeClusterIP,
			ClusterIP:  vip.String(),
			ClusterIPs: []string{vip.String()},
			Ports: []v1.ServicePort{{
				Name:       "p",
				Protocol:   proto,
				Port:       port,
				TargetPort: intstr.FromInt32(echoPort),
			}},
			SessionAffinity: v1.ServiceAffinityNone,
		},
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

// nodePort makes the Service a NodePort Service on np.
func nodePort(np int32) svcOpt {
	return func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = np
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster
	}
}

// localTraffic sets externalTrafficPolicy Local with health check node port hc.
func localTraffic(hc int32) svcOpt {
	return func(s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = hc
	}
}

// clientIPAffinity sets sessionAffinity ClientIP with timeout seconds.
func clientIPAffinity(seconds int32) svcOpt {
	return func(s *v1.Service) {
		s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: &seconds}}
	}
}

// newSlice returns the EndpointSlice of svc listing pods as ready
// endpoints on their nodes, port echoPort.
func newSlice(svc *v1.Service, pods ...*Pod) *discoveryv1.EndpointSlice {
	proto := svc.Spec.Ports[0].Protocol
	name := svc.Spec.Ports[0].Name
	port := int32(echoPort)
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: svc.Namespace,
			Name:      svc.Name + "-1",
			Labels:    map[string]string{discoveryv1.LabelServiceName: svc.Name},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}},
		Endpoints:   []discoveryv1.Endpoint{},
	}
	for _, p := range pods {
		ready := true
		node := p.Node.Name
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{p.IP.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			NodeName:   &node,
		})
	}
	return es
}

// newNode returns the Node object of n, with its InternalIP and pod CIDR.
func newNode(n *Node) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name}},
		Spec:       v1.NodeSpec{PodCIDR: n.PodCIDR.String(), PodCIDRs: []string{n.PodCIDR.String()}},
		Status: v1.NodeStatus{Addresses: []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: n.IP.String()},
			{Type: v1.NodeHostName, Address: n.Name},
		}},
	}
}

// vip returns the i-th address of ServiceCIDR (i >= 1).
func vip(i int) netip.Addr {
	a := ServiceCIDR.Addr().As4()
	a[2], a[3] = byte(i>>8), byte(i)
	addr := netip.AddrFrom4(a)
	if !ServiceCIDR.Contains(addr) {
		panic(fmt.Sprintf("vip %d outside %s", i, ServiceCIDR))
	}
	return addr
}
