package snapshot

import (
	"net/netip"
	"slices"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// portEndpoints collects the IPv4 endpoints of port name from the
// Service's slices, resolving the target port per slice by port name and
// protocol. An endpoint listed in several slices is kept once; a ready
// copy wins over a not-ready one. The result is sorted.
func portEndpoints(cfg Config, name ServicePortName, endpointSlices []*discoveryv1.EndpointSlice) []Endpoint {
	sorted := slices.Clone(endpointSlices)
	slices.SortFunc(sorted, func(a, b *discoveryv1.EndpointSlice) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	type key struct {
		ip   netip.Addr
		port int32
	}
	index := map[key]int{}
	var eps []Endpoint
	for _, s := range sorted {
		if s.AddressType != discoveryv1.AddressTypeIPv4 || s.Namespace != name.Namespace ||
			s.Labels[discoveryv1.LabelServiceName] != name.Name {
			continue
		}
		port, ok := slicePort(s, name)
		if !ok {
			continue
		}
		for i := range s.Endpoints {
			ep, ok := endpointFrom(cfg, &s.Endpoints[i], port)
			if !ok {
				continue
			}
			k := key{ep.IP, ep.Port}
			if j, dup := index[k]; dup {
				if ep.Ready && !eps[j].Ready {
					eps[j] = ep
				}
				continue
			}
			index[k] = len(eps)
			eps = append(eps, ep)
		}
	}
	slices.SortFunc(eps, compareEndpoints)
	return eps
}

// slicePort finds the port of slice s matching name's port name and
// protocol.
func slicePort(s *discoveryv1.EndpointSlice, name ServicePortName) (int32, bool) {
	for _, p := range s.Ports {
		pname := ""
		if p.Name != nil {
			pname = *p.Name
		}
		proto := v1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if pname != name.Port || proto != name.Protocol || p.Port == nil {
			continue
		}
		if *p.Port <= 0 || *p.Port > 65535 {
			return 0, false
		}
		return *p.Port, true
	}
	return 0, false
}

// endpointFrom converts an EndpointSlice endpoint, applying the condition
// defaults. It reports false for one without a usable IPv4 address.
func endpointFrom(cfg Config, e *discoveryv1.Endpoint, port int32) (Endpoint, bool) {
	if len(e.Addresses) == 0 {
		return Endpoint{}, false
	}
	ip, err := netip.ParseAddr(e.Addresses[0])
	if err != nil || !ip.Is4() {
		return Endpoint{}, false
	}
	ep := Endpoint{IP: ip, Port: port, Ready: true}
	if e.Conditions.Ready != nil {
		ep.Ready = *e.Conditions.Ready
	}
	ep.Serving = ep.Ready
	if e.Conditions.Serving != nil {
		ep.Serving = *e.Conditions.Serving
	}
	if e.Conditions.Terminating != nil {
		ep.Terminating = *e.Conditions.Terminating
	}
	if e.NodeName != nil {
		ep.NodeName = *e.NodeName
	}
	switch {
	case ep.NodeName != "":
		ep.Local = cfg.NodeName != "" && ep.NodeName == cfg.NodeName
	default:
		ep.Local = slices.Contains(cfg.NodeIPs, ip)
	}
	return ep, true
}

// categorize fills p's usable endpoint sets the way kube-proxy's
// CategorizeEndpoints does (without topology): ready endpoints, or
// serving-and-terminating ones when none are ready, chosen independently
// for the cluster-wide and the node-local set.
func categorize(p *ServicePort) {
	p.ClusterEndpoints = usable(p.Endpoints, func(Endpoint) bool { return true })
	p.LocalEndpoints = usable(p.Endpoints, func(e Endpoint) bool { return e.Local })
	p.HasEndpoints = len(p.ClusterEndpoints) > 0
}

// usable returns the ready endpoints among those matching keep, or the
// serving-and-terminating ones among them if none is ready.
func usable(eps []Endpoint, keep func(Endpoint) bool) []Endpoint {
	var ready, fallback []Endpoint
	for _, e := range eps {
		if !keep(e) {
			continue
		}
		if e.Ready {
			ready = append(ready, e)
		} else if e.Serving && e.Terminating {
			fallback = append(fallback, e)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return fallback
}

// checkSlices reports the malformed fields of a Service's IPv4
// EndpointSlices that are skipped: ports out of range and endpoint
// addresses that are not IPv4 addresses.
func checkSlices(endpointSlices []*discoveryv1.EndpointSlice, report func(string, ...any)) {
	for _, s := range endpointSlices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, p := range s.Ports {
			if p.Port != nil && (*p.Port <= 0 || *p.Port > 65535) {
				name := ""
				if p.Name != nil {
					name = *p.Name
				}
				report("EndpointSlice %s: skipping port %q: port %d out of range", s.Name, name, *p.Port)
			}
		}
		for _, e := range s.Endpoints {
			if len(e.Addresses) == 0 {
				continue
			}
			if a, err := netip.ParseAddr(e.Addresses[0]); err != nil || !a.Is4() {
				report("EndpointSlice %s: skipping endpoint %q: not an IPv4 address", s.Name, e.Addresses[0])
			}
		}
	}
}
