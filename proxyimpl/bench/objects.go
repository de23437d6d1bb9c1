package main

import (
	"fmt"
	"net/netip"
	"slices"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/svccheck/svccheck/proxyimpl/integration"
)

// The synthetic cluster every proxy under test is fed: the node the proxy
// runs on, and N Services of 10 endpoints each, one of them on this node.
const (
	nodeName  = "bench-node"
	namespace = "bench"
)

// The node's address and the cluster CIDR are those of the first node of
// the namespace topology each proxy runs in (see integration.Build): the
// node on the node network, its pods in the cluster CIDR, so that a
// connection from one of them is a pod's.
var (
	nodeIP      = netip.MustParseAddr("10.210.0.11")
	clusterCIDR = integration.ClusterCIDR.String()
)

// cluster is the objects of a synthetic cluster of n Services.
type cluster struct {
	node     *v1.Node
	services []*v1.Service
	slices   []*discoveryv1.EndpointSlice
}

// newCluster makes n Services x 10 endpoints. Every tenth Service is a
// NodePort Service, every twentieth of those with externalTrafficPolicy
// Local; the others are ClusterIP.
func newCluster(n int) cluster {
	c := cluster{node: &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName},
		Status:     v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: nodeIP.String()}}},
	}}
	for i := range n {
		c.services = append(c.services, service(i))
		c.slices = append(c.slices, slice(i, 0))
	}
	return c
}

// objects returns every object of c, for a fake clientset.
func (c cluster) objects() []runtime.Object {
	objs := []runtime.Object{c.node}
	for i := range c.services {
		objs = append(objs, c.services[i], c.slices[i])
	}
	return objs
}

func service(i int) *v1.Service {
	name := fmt.Sprintf("svc-%05d", i)
	ip := fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)
	s := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID("uid-" + name)},
		Spec: v1.ServiceSpec{
			Type:       v1.ServiceTypeClusterIP,
			ClusterIP:  ip,
			ClusterIPs: []string{ip},
			IPFamilies: []v1.IPFamily{v1.IPv4Protocol},
			Ports: []v1.ServicePort{{
				Name: "http", Port: 80, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromInt32(8080),
			}},
		},
	}
	if i%10 == 5 {
		s.Spec.Type = v1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = int32(30000 + i/10)
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster
		if i%20 == 5 {
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = int32(31000 + i/20)
		}
	}
	return s
}

// endpointAddrs returns every address Service i's endpoints have in
// generations 0 to gens of its slice.
func endpointAddrs(i, gens int) []string {
	var out []string
	for gen := range gens + 1 {
		for _, ep := range slice(i, gen).Endpoints {
			if !slices.Contains(out, ep.Addresses[0]) {
				out = append(out, ep.Addresses[0])
			}
		}
	}
	return out
}

// slice is Service i's EndpointSlice; gen changes the second endpoint's
// address, for partial syncs.
func slice(i, gen int) *discoveryv1.EndpointSlice {
	name := fmt.Sprintf("svc-%05d", i)
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: name + "-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "bench"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(v1.ProtocolTCP)}},
	}
	for j := range 10 {
		node := fmt.Sprintf("node-%d", j)
		addr := fmt.Sprintf("10.%d.%d.%d", 244+j, i/250, i%250+1)
		if j == 0 {
			node = nodeName
		}
		if j == 1 && gen > 0 {
			addr = fmt.Sprintf("10.%d.%d.%d", 250+gen%5, i/250, i%250+1)
		}
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{addr},
			NodeName:   ptr.To(node),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
		})
	}
	return s
}
