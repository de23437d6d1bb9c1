package render

import (
	"net/netip"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// testNode is the node the tests render for.
const testNode = "node-a"

// testConfig is the snapshot configuration the tests render with.
var testConfig = snapshot.Config{
	NodeName:     testNode,
	ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
}

// svc returns a ClusterIP Service with one TCP port per entry of ports
// ("name:port" pairs given as name, port).
func svc(ns, name, clusterIP string, mutate ...func(*v1.Service)) *v1.Service {
	s := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{
			Type:       v1.ServiceTypeClusterIP,
			ClusterIP:  clusterIP,
			ClusterIPs: []string{clusterIP},
			Ports:      []v1.ServicePort{{Name: "p80", Port: 80, Protocol: v1.ProtocolTCP}},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

// ep is one endpoint of a test slice.
type ep struct {
	ip, node                    string
	ready, serving, terminating bool
}

// readyEp returns a ready endpoint on node.
func readyEp(ip, node string) ep { return ep{ip: ip, node: node, ready: true, serving: true} }

// slice returns an IPv4 EndpointSlice of Service ns/svcName with one TCP
// port named portName.
func slice(ns, svcName, name, portName string, port int32, eps ...ep) *discoveryv1.EndpointSlice {
	proto := v1.ProtocolTCP
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svcName}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}},
	}
	for _, e := range eps {
		e := e
		de := discoveryv1.Endpoint{
			Addresses: []string{e.ip},
			Conditions: discoveryv1.EndpointConditions{
				Ready: &e.ready, Serving: &e.serving, Terminating: &e.terminating},
		}
		if e.node != "" {
			de.NodeName = &e.node
		}
		s.Endpoints = append(s.Endpoints, de)
	}
	return s
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
