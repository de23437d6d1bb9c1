package render

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// genCluster returns n Services with eps endpoints each, spread over 100
// nodes (this node among them): every tenth Service is a NodePort, every
// twentieth has externalTrafficPolicy Local, every fiftieth ClientIP
// affinity. Addresses are derived from the index, so the result is
// deterministic.
func genCluster(n, eps int) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
	services := make([]*v1.Service, 0, n)
	slices := make([]*discoveryv1.EndpointSlice, 0, n)
	for i := range n {
		name := fmt.Sprintf("svc-%05d", i)
		ns := fmt.Sprintf("ns-%03d", i%200)
		s := svc(ns, name, fmt.Sprintf("10.96.%d.%d", i/250, i%250+1))
		if i%10 == 0 {
			nodePort(int32(30000 + i%2700))(s)
		}
		if i%20 == 0 {
			etpLocal(int32(32700 + i%60))(s)
		}
		if i%50 == 0 {
			s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		}
		services = append(services, s)
		endpoints := make([]ep, 0, eps)
		for j := range eps {
			k := i*eps + j
			node := fmt.Sprintf("node-%02d", k%100)
			if k%100 == 0 {
				node = testNode
			}
			endpoints = append(endpoints, readyEp(fmt.Sprintf("10.%d.%d.%d", 128+k/65536, k/256%256, k%256), node))
		}
		slices = append(slices, slice(ns, name, name+"-abcde", "p80", 8080, endpoints...))
	}
	return services, slices
}
