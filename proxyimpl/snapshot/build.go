package snapshot

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Labels that make the proxy ignore a Service.
const (
	// LabelHeadless marks an EndpointSlice no proxy should use (the
	// EndpointSlice controller sets it on the slices of headless Services).
	LabelHeadless = "service.kubernetes.io/headless"
	// LabelServiceProxyName hands a Service to another proxy.
	LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"
)

// DefaultStickyMaxAgeSeconds is the ClientIP affinity timeout used when a
// Service does not set one (as the API server defaults it).
const DefaultStickyMaxAgeSeconds = 10800

// Config is the node-specific input of Build.
type Config struct {
	// NodeName is this node's name; endpoints on it are local.
	NodeName string
	// NodeLabels are this node's labels. Topology hints are ignored, so
	// they are carried for the caller only.
	NodeLabels map[string]string
	// ClusterCIDRs are the pod network's CIDRs; IPv6 ones are dropped.
	ClusterCIDRs []netip.Prefix
	// NodeIPs are this node's addresses; an endpoint without a node name
	// whose address is one of them (a host-network endpoint) is local.
	NodeIPs []netip.Addr
}

// Build turns Services and EndpointSlices into a Snapshot for the node in
// cfg. Services that are not proxied (headless, ExternalName, labelled for
// another proxy or without a cluster IP) are left out silently; malformed
// ones are left out and reported as Problems. The inputs are not modified.
func Build(cfg Config, services []*v1.Service, endpointSlices []*discoveryv1.EndpointSlice) (*Snapshot, []Problem) {
	snap := &Snapshot{
		NodeName: cfg.NodeName,
		Ports:    make(map[ServicePortName]*ServicePort, len(services)),
	}
	for _, c := range cfg.ClusterCIDRs {
		if c.Addr().Is4() {
			snap.ClusterCIDRs = append(snap.ClusterCIDRs, c.Masked())
		}
	}
	bySvc := GroupSlices(endpointSlices)
	var problems []Problem
	for _, svc := range services {
		key := svc.Namespace + "/" + svc.Name
		ports, probs := ServicePorts(cfg, svc, bySvc[key])
		problems = append(problems, probs...)
		for _, p := range ports {
			snap.Ports[p.Name] = p
		}
	}
	return snap, problems
}

// GroupSlices groups EndpointSlices by the "namespace/name" of the Service
// named in their kubernetes.io/service-name label; unlabelled slices are
// dropped.
func GroupSlices(endpointSlices []*discoveryv1.EndpointSlice) map[string][]*discoveryv1.EndpointSlice {
	by := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range endpointSlices {
		name := s.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		key := s.Namespace + "/" + name
		by[key] = append(by[key], s)
	}
	return by
}

// Proxied reports whether the proxy handles svc at all: not labelled for
// another proxy, not ExternalName, with a cluster IP that is not None.
func Proxied(svc *v1.Service) bool {
	if _, ok := svc.Labels[LabelServiceProxyName]; ok {
		return false
	}
	if svc.Spec.Type == v1.ServiceTypeExternalName {
		return false
	}
	return svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != v1.ClusterIPNone
}

// ServicePorts returns the model of every proxied port of svc, given the
// EndpointSlices of svc (slices of other Services and slices labelled
// headless are ignored), sorted by
// name. It returns nothing for a Service the proxy does not handle.
func ServicePorts(cfg Config, svc *v1.Service, endpointSlices []*discoveryv1.EndpointSlice) ([]*ServicePort, []Problem) {
	if !Proxied(svc) {
		return nil, nil
	}
	endpointSlices = slices.DeleteFunc(slices.Clone(endpointSlices), func(s *discoveryv1.EndpointSlice) bool {
		_, headless := s.Labels[LabelHeadless]
		return headless
	})
	var problems []Problem
	report := func(format string, args ...any) {
		problems = append(problems, Problem{Kind: "Service", Namespace: svc.Namespace,
			Name: svc.Name, Message: fmt.Sprintf(format, args...)})
	}
	checkSlices(endpointSlices, report)
	clusterIPs, err := clusterIPv4s(svc)
	if err != nil {
		report("skipping Service: %v", err)
		return nil, problems
	}
	if len(clusterIPs) == 0 {
		return nil, nil // IPv6-only: not this proxy's family
	}
	common := serviceCommon(svc, clusterIPs, report)
	common.LoadBalancerSourceRanges = parseIPv4Prefixes(svc.Spec.LoadBalancerSourceRanges, "loadBalancerSourceRanges", report)
	for _, r := range common.LoadBalancerSourceRanges {
		if slices.ContainsFunc(cfg.NodeIPs, r.Contains) {
			common.SourceRangesHoldNode = true
		}
	}
	var ports []*ServicePort
	seen := map[ServicePortName]bool{}
	for _, sp := range svc.Spec.Ports {
		name, ok := portName(svc, sp, seen, report)
		if !ok {
			continue
		}
		p := common // copy; slices are shared read-only
		p.Name = name
		p.Port = sp.Port
		p.Protocol = name.Protocol
		if svc.Spec.Type == v1.ServiceTypeNodePort || svc.Spec.Type == v1.ServiceTypeLoadBalancer {
			p.NodePort = sp.NodePort
		}
		p.setChains()
		p.Endpoints = portEndpoints(cfg, name, endpointSlices)
		categorize(&p)
		ports = append(ports, &p)
	}
	slices.SortFunc(ports, func(a, b *ServicePort) int { return a.Name.Compare(b.Name) })
	return ports, problems
}

// serviceCommon returns what every port of svc shares: addresses, traffic
// policies and session affinity. Malformed fields are reported and left out.
func serviceCommon(svc *v1.Service, clusterIPs []netip.Addr, report func(string, ...any)) ServicePort {
	common := ServicePort{
		ClusterIPs:          clusterIPs,
		ExternalIPs:         parseIPv4s(svc.Spec.ExternalIPs, "externalIPs", report),
		InternalPolicyLocal: svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == v1.ServiceInternalTrafficPolicyLocal,
	}
	var lbIPs []string
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if ing.IP != "" {
			lbIPs = append(lbIPs, ing.IP)
		}
	}
	common.LoadBalancerIPs = parseIPv4s(lbIPs, "status.loadBalancer.ingress", report)
	externallyReachable := svc.Spec.Type == v1.ServiceTypeNodePort || svc.Spec.Type == v1.ServiceTypeLoadBalancer || len(common.ExternalIPs) > 0
	if externallyReachable && svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal {
		common.ExternalPolicyLocal = true
		common.HealthCheckNodePort = svc.Spec.HealthCheckNodePort
		if common.HealthCheckNodePort < 0 || common.HealthCheckNodePort > 65535 {
			report("ignoring healthCheckNodePort %d: out of range", common.HealthCheckNodePort)
			common.HealthCheckNodePort = 0
		}
	}
	if svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP {
		common.SessionAffinityClientIP = true
		common.StickyMaxAgeSeconds = DefaultStickyMaxAgeSeconds
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			if t := *c.ClientIP.TimeoutSeconds; t > 0 && t <= 86400 {
				common.StickyMaxAgeSeconds = t
			} else {
				report("using the default affinity timeout: timeoutSeconds %d out of range 1-86400", t)
			}
		}
	}
	return common
}

// portName names port sp of svc (the protocol defaulted to TCP) and
// reports whether the proxy handles it: a port with an unsupported
// protocol, a port number out of range or a name and protocol seen before
// is reported and skipped. seen collects the names handed out.
func portName(svc *v1.Service, sp v1.ServicePort, seen map[ServicePortName]bool, report func(string, ...any)) (ServicePortName, bool) {
	proto := sp.Protocol
	if proto == "" {
		proto = v1.ProtocolTCP
	}
	name := ServicePortName{Namespace: svc.Namespace, Name: svc.Name, Port: sp.Name, Protocol: proto}
	switch {
	case proto != v1.ProtocolTCP && proto != v1.ProtocolUDP && proto != v1.ProtocolSCTP:
		report("skipping port %q: unsupported protocol %q", sp.Name, proto)
	case sp.Port <= 0 || sp.Port > 65535:
		report("skipping port %q: port %d out of range", sp.Name, sp.Port)
	case sp.NodePort < 0 || sp.NodePort > 65535:
		report("skipping port %q: nodePort %d out of range", sp.Name, sp.NodePort)
	case seen[name]:
		report("skipping port %q: duplicate name and protocol", sp.Name)
	default:
		seen[name] = true
		return name, true
	}
	return name, false
}

// clusterIPv4s returns the IPv4 addresses among svc's cluster IPs.
func clusterIPv4s(svc *v1.Service) ([]netip.Addr, error) {
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("parsing cluster IP %q: %w", s, err)
		}
		if a.Is4() {
			out = append(out, a)
		}
	}
	return out, nil
}

// parseIPv4Prefixes parses CIDRs (surrounding spaces allowed, as the API
// allows them), reporting unparsable ones, dropping IPv6 ones and
// duplicates, and masking and sorting the rest.
func parseIPv4Prefixes(cidrs []string, field string, report func(string, ...any)) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			report("ignoring %s entry %q: not a CIDR", field, s)
			continue
		}
		if p.Addr().Is4() {
			out = append(out, p.Masked())
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(out)
}

// parseIPv4s parses addresses, reporting unparsable ones, dropping IPv6
// ones and duplicates, and sorting the rest.
func parseIPv4s(ips []string, field string, report func(string, ...any)) []netip.Addr {
	var out []netip.Addr
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			report("ignoring %s entry %q: not an IP address", field, s)
			continue
		}
		if a.Is4() {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
