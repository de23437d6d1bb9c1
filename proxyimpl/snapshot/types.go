package snapshot

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"

	v1 "k8s.io/api/core/v1"
)

// ServicePortName identifies one port of one Service: namespace, name, the
// port's name (empty for a Service's single unnamed port) and its protocol.
type ServicePortName struct {
	Namespace string
	Name      string
	Port      string
	Protocol  v1.Protocol
}

// String returns "namespace/name:port", or "namespace/name" for an unnamed
// port, as kube-proxy names Service ports (without the protocol).
func (n ServicePortName) String() string {
	if n.Port == "" {
		return n.Namespace + "/" + n.Name
	}
	return n.Namespace + "/" + n.Name + ":" + n.Port
}

// Compare orders names by namespace, name, port name and protocol; it
// returns -1, 0 or +1 like cmp.Compare.
func (n ServicePortName) Compare(o ServicePortName) int {
	return cmp.Or(
		cmp.Compare(n.Namespace, o.Namespace),
		cmp.Compare(n.Name, o.Name),
		cmp.Compare(n.Port, o.Port),
		cmp.Compare(n.Protocol, o.Protocol),
	)
}

// Endpoint is one IPv4 backend of a ServicePort.
type Endpoint struct {
	// IP is the endpoint's (first) address.
	IP netip.Addr
	// Port is the resolved target port.
	Port int32
	// NodeName is the endpoint's node, empty when the slice does not say.
	NodeName string
	// Ready, Serving and Terminating are the EndpointSlice conditions, with
	// the API's defaults applied (nil ready means ready, nil serving means
	// the ready value, nil terminating means false).
	Ready, Serving, Terminating bool
	// Local reports whether the endpoint runs on this node.
	Local bool
}

// String returns "ip:port".
func (e Endpoint) String() string {
	return e.IP.String() + ":" + strconv.Itoa(int(e.Port))
}

// compareEndpoints orders endpoints by address, then port.
func compareEndpoints(a, b Endpoint) int {
	return cmp.Or(a.IP.Compare(b.IP), cmp.Compare(a.Port, b.Port))
}

// ServicePort is the proxy's model of one Service port: everything the
// renderer needs, with no reference back to the API objects.
type ServicePort struct {
	// Name identifies the port.
	Name ServicePortName
	// ClusterIPs are the Service's IPv4 cluster IPs.
	ClusterIPs []netip.Addr
	// Port is the Service port number.
	Port int32
	// Protocol is TCP, UDP or SCTP.
	Protocol v1.Protocol
	// NodePort is the node port, or 0.
	NodePort int32
	// ExternalIPs are the Service's IPv4 externalIPs, sorted.
	ExternalIPs []netip.Addr
	// LoadBalancerIPs are the IPv4 status.loadBalancer.ingress IPs, sorted.
	LoadBalancerIPs []netip.Addr
	// LoadBalancerSourceRanges are the IPv4 spec.loadBalancerSourceRanges,
	// masked, deduplicated and sorted: when set, only these sources may
	// reach the load balancer IPs.
	LoadBalancerSourceRanges []netip.Prefix
	// SourceRangesHoldNode reports whether a source range contains one of
	// this node's addresses: traffic from the node to a load balancer IP
	// it holds locally then carries that IP as its source, and is let in
	// too.
	SourceRangesHoldNode bool
	// ExternalPolicyLocal is externalTrafficPolicy: Local on an externally
	// reachable Service (NodePort or LoadBalancer, or with externalIPs).
	ExternalPolicyLocal bool
	// InternalPolicyLocal is internalTrafficPolicy: Local.
	InternalPolicyLocal bool
	// HealthCheckNodePort is the Service's health check node port, or 0.
	HealthCheckNodePort int32
	// SessionAffinityClientIP is sessionAffinity: ClientIP.
	SessionAffinityClientIP bool
	// StickyMaxAgeSeconds is the ClientIP affinity timeout (default 10800).
	StickyMaxAgeSeconds int32

	// Endpoints are all IPv4 endpoints of the port, deduplicated and sorted.
	Endpoints []Endpoint
	// ClusterEndpoints are the endpoints usable for Cluster traffic policy.
	ClusterEndpoints []Endpoint
	// LocalEndpoints are the endpoints on this node usable for Local
	// traffic policy.
	LocalEndpoints []Endpoint
	// HasEndpoints reports whether any endpoint anywhere is usable (ready, or
	// serving and terminating).
	HasEndpoints bool

	// Hash is the 16-character base32 hash of the name and protocol that
	// the port's chain names end with.
	Hash string
	// SVCChain is the nat chain for internal (cluster IP) traffic.
	SVCChain string
	// EXTChain is the nat chain for external traffic (node ports, external
	// and load balancer IPs).
	EXTChain string
	// CLUChain is the nat chain holding all cluster endpoints, used by the
	// EXT chain only when internal traffic is node-local (the SVC chain
	// then holds only local endpoints).
	CLUChain string
	// FWChain is the nat chain load balancer IP traffic goes through when
	// the port has source ranges (see UsesFirewall).
	FWChain string
}

// UsesFirewall reports whether load balancer IP traffic of the port goes
// through its FW chain, which lets only the source ranges in: the port has
// usable endpoints, load balancer IPs and source ranges.
func (p *ServicePort) UsesFirewall() bool {
	return p.HasEndpoints && len(p.LoadBalancerIPs) > 0 && len(p.LoadBalancerSourceRanges) > 0
}

// InternalEndpoints are the endpoints cluster IP traffic goes to.
func (p *ServicePort) InternalEndpoints() []Endpoint {
	if p.InternalPolicyLocal {
		return p.LocalEndpoints
	}
	return p.ClusterEndpoints
}

// ExternalEndpoints are the endpoints external traffic goes to without
// being short-circuited (node-local ones under externalTrafficPolicy Local).
func (p *ServicePort) ExternalEndpoints() []Endpoint {
	if p.ExternalPolicyLocal {
		return p.LocalEndpoints
	}
	return p.ClusterEndpoints
}

// ExternallyAccessible reports whether the port is reachable from outside
// the cluster network: by node port, external IP or load balancer IP.
func (p *ServicePort) ExternallyAccessible() bool {
	return p.NodePort != 0 || len(p.ExternalIPs) > 0 || len(p.LoadBalancerIPs) > 0
}

// AffinityList is the name of the xt_recent list that pins clients of this
// port to endpoint ep under ClientIP session affinity.
func (p *ServicePort) AffinityList(ep Endpoint) string {
	return AffinityPrefix + hash16(p.Name.String()+"/"+string(p.Name.Protocol)+"/"+ep.String())
}

// Equal reports whether p and o describe the same port, the same way.
func (p *ServicePort) Equal(o *ServicePort) bool {
	if p == o {
		return true
	}
	if p == nil || o == nil {
		return false
	}
	return p.Name == o.Name && p.Port == o.Port && p.Protocol == o.Protocol &&
		p.NodePort == o.NodePort && p.ExternalPolicyLocal == o.ExternalPolicyLocal &&
		p.InternalPolicyLocal == o.InternalPolicyLocal &&
		p.HealthCheckNodePort == o.HealthCheckNodePort &&
		p.SessionAffinityClientIP == o.SessionAffinityClientIP &&
		p.StickyMaxAgeSeconds == o.StickyMaxAgeSeconds &&
		p.HasEndpoints == o.HasEndpoints && p.Hash == o.Hash &&
		slices.Equal(p.ClusterIPs, o.ClusterIPs) &&
		slices.Equal(p.ExternalIPs, o.ExternalIPs) &&
		slices.Equal(p.LoadBalancerIPs, o.LoadBalancerIPs) &&
		slices.Equal(p.LoadBalancerSourceRanges, o.LoadBalancerSourceRanges) &&
		p.SourceRangesHoldNode == o.SourceRangesHoldNode &&
		slices.Equal(p.Endpoints, o.Endpoints) &&
		slices.Equal(p.ClusterEndpoints, o.ClusterEndpoints) &&
		slices.Equal(p.LocalEndpoints, o.LocalEndpoints)
}

// Snapshot is the proxy's model of every proxied Service port at one time.
type Snapshot struct {
	// NodeName is the node the snapshot was built for.
	NodeName string
	// ClusterCIDRs are the pod network's IPv4 CIDRs, from the Config.
	ClusterCIDRs []netip.Prefix
	// Ports maps each proxied Service port to its model.
	Ports map[ServicePortName]*ServicePort
}

// Names returns the names of all ports, sorted.
func (s *Snapshot) Names() []ServicePortName {
	names := make([]ServicePortName, 0, len(s.Ports))
	for n := range s.Ports {
		names = append(names, n)
	}
	slices.SortFunc(names, ServicePortName.Compare)
	return names
}

// Changed returns the names of the ports added, removed or modified
// between old and cur. A nil old means every port of cur.
func Changed(old, cur *Snapshot) map[ServicePortName]bool {
	changed := map[ServicePortName]bool{}
	if old == nil {
		for n := range cur.Ports {
			changed[n] = true
		}
		return changed
	}
	for n, p := range cur.Ports {
		if !p.Equal(old.Ports[n]) {
			changed[n] = true
		}
	}
	for n := range old.Ports {
		if _, ok := cur.Ports[n]; !ok {
			changed[n] = true
		}
	}
	return changed
}

// Problem is a malformed field that made Build skip a Service, a port or
// an address. Problems of a Service's EndpointSlices are reported on the
// Service, naming the slice in the message.
type Problem struct {
	// Kind is the kind of the object the problem is reported on: "Service".
	Kind string
	// Namespace and Name identify the Service.
	Namespace, Name string
	// Message says what is wrong and what was skipped.
	Message string
}

// String returns "Kind namespace/name: message".
func (p Problem) String() string {
	return p.Kind + " " + p.Namespace + "/" + p.Name + ": " + p.Message
}
