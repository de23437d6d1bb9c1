package proxyimpl

import (
	"context"
	"net/netip"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// servingSet is the set of "ip:port" of a Service port's serving
// endpoints.
type servingSet map[netip.AddrPort]bool

// flowIndex tells stale UDP flows from good ones, from the model the rules
// were just written from. It mirrors kube-proxy's conntrack reconciler: a
// UDP flow whose original destination is a Service port (a cluster,
// external or load balancer IP with the port, or the node port on any
// address) is stale when its reply source, the endpoint it was DNATed to,
// is not a serving endpoint of that port now. That covers an endpoint
// removed or replaced, a target port changed (same address, other port)
// and a port that just got its first endpoint (the flow made before was
// not DNATed: its reply source is the Service address itself). Ports
// without serving endpoints are left alone: there is nowhere to move their
// flows. Traffic policies and topology are ignored, so a change of policy
// does not cut existing flows, as with TCP.
type flowIndex struct {
	byVIP      map[netip.AddrPort]servingSet
	byNodePort map[uint16]servingSet
}

// newFlowIndex indexes the UDP ports of snap.
func newFlowIndex(snap *snapshot.Snapshot) flowIndex {
	ix := flowIndex{byVIP: map[netip.AddrPort]servingSet{}, byNodePort: map[uint16]servingSet{}}
	for _, p := range snap.Ports {
		if p.Protocol != v1.ProtocolUDP {
			continue
		}
		serving := servingSet{}
		for _, ep := range p.Endpoints {
			if ep.Serving || ep.Ready {
				serving[netip.AddrPortFrom(ep.IP, uint16(ep.Port))] = true
			}
		}
		if len(serving) == 0 {
			continue
		}
		for _, ip := range vips(p) {
			ix.byVIP[netip.AddrPortFrom(ip, uint16(p.Port))] = serving
		}
		if p.NodePort != 0 {
			ix.byNodePort[uint16(p.NodePort)] = serving
		}
	}
	return ix
}

// empty reports whether no flow can be stale.
func (ix flowIndex) empty() bool { return len(ix.byVIP) == 0 && len(ix.byNodePort) == 0 }

// stale reports whether f should be deleted. A flow to a Service address
// is judged by that Service port alone.
func (ix flowIndex) stale(f conntrack.Flow) bool {
	if f.Protocol != conntrack.ProtoUDP {
		return false
	}
	if serving, ok := ix.byVIP[f.Original.Dst]; ok {
		return !serving[f.Reply.Src]
	}
	if serving, ok := ix.byNodePort[f.Original.Dst.Port()]; ok {
		return !serving[f.Reply.Src]
	}
	return false
}

// vips returns every address p is reachable on besides node ports.
func vips(p *snapshot.ServicePort) []netip.Addr {
	out := make([]netip.Addr, 0, len(p.ClusterIPs)+len(p.ExternalIPs)+len(p.LoadBalancerIPs))
	out = append(out, p.ClusterIPs...)
	out = append(out, p.ExternalIPs...)
	return append(out, p.LoadBalancerIPs...)
}

// clearStaleFlows deletes the stale UDP flows of the IPv4 conntrack table
// against snap, the model the rules were just written from. It runs after
// every successful sync and reads the live table each time, so a deletion
// that failed is tried again at the next sync, and a restarted proxy
// clears what changed while it was down. Failures are logged, not
// returned: the rules are in place already.
func (p *Proxier) clearStaleFlows(ctx context.Context, snap *snapshot.Snapshot) {
	log := klog.FromContext(ctx)
	ix := newFlowIndex(snap)
	if ix.empty() {
		return
	}
	start := p.cfg.Clock.Now()
	stale := func(f conntrack.Flow) bool {
		if !ix.stale(f) {
			return false
		}
		log.V(4).Info("Deleting stale conntrack flow", "flow", f.String())
		return true
	}
	n, err := p.ct.DeleteFlows(ctx, false, stale)
	if err != nil {
		log.Error(err, "Clearing stale UDP conntrack flows; trying again at the next sync", "deleted", n)
		return
	}
	log.V(2).Info("Cleared stale UDP conntrack flows", "deleted", n, "duration", p.cfg.Clock.Since(start))
}
