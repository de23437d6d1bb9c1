package proxyimpl

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// ctKind says which conntrack deletion a ctAction is.
type ctKind int

const (
	// ctServicePort: flows to vip:port (the port just got endpoints).
	ctServicePort ctKind = iota
	// ctNodePort: flows to the node port port (it just got endpoints).
	ctNodePort
	// ctNAT: flows to vip DNATed to the removed endpoint ep.
	ctNAT
	// ctNodePortNAT: flows to node port port DNATed to the removed ep.
	ctNodePortNAT
)

// ctAction is one conntrack deletion.
type ctAction struct {
	kind ctKind
	vip  netip.Addr
	port int
	ep   netip.Addr
}

// staleUDP returns the conntrack deletions that the change from old to cur
// of the ports in changed calls for, as kube-proxy does: flows of UDP
// ports to endpoints that are no longer used are deleted (they would keep
// going to the gone endpoint), and when a UDP port gets its first endpoint,
// flows to it are deleted (they were answered without DNAT and would keep
// bypassing the new rules). old nil means nothing is known of the flows
// before: nothing is deleted.
func staleUDP(old, cur *snapshot.Snapshot, changed map[snapshot.ServicePortName]bool) []ctAction {
	if old == nil {
		return nil
	}
	var out []ctAction
	names := make([]snapshot.ServicePortName, 0, len(changed))
	for n := range changed {
		if n.Protocol == v1.ProtocolUDP {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, snapshot.ServicePortName.Compare)
	for _, n := range names {
		oldP, curP := old.Ports[n], cur.Ports[n]
		oldEPs, curEPs := usedEndpoints(oldP), usedEndpoints(curP)
		if oldP != nil {
			for _, ep := range oldEPs {
				if slices.Contains(curEPs, ep) {
					continue
				}
				for _, vip := range vips(oldP) {
					out = append(out, ctAction{kind: ctNAT, vip: vip, ep: ep})
				}
				if oldP.NodePort != 0 {
					out = append(out, ctAction{kind: ctNodePortNAT, port: int(oldP.NodePort), ep: ep})
				}
			}
		}
		if curP != nil && len(curEPs) > 0 && len(oldEPs) == 0 {
			for _, vip := range vips(curP) {
				out = append(out, ctAction{kind: ctServicePort, vip: vip, port: int(curP.Port)})
			}
			if curP.NodePort != 0 {
				out = append(out, ctAction{kind: ctNodePort, port: int(curP.NodePort)})
			}
		}
	}
	return out
}

// usedEndpoints returns the distinct addresses of the endpoints p's rules
// send traffic to, sorted.
func usedEndpoints(p *snapshot.ServicePort) []netip.Addr {
	if p == nil {
		return nil
	}
	var ips []netip.Addr
	for _, eps := range [][]snapshot.Endpoint{p.ClusterEndpoints, p.LocalEndpoints} {
		for _, ep := range eps {
			ips = append(ips, ep.IP)
		}
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	return slices.Compact(ips)
}

// vips returns every address p is reachable on besides node ports.
func vips(p *snapshot.ServicePort) []netip.Addr {
	out := slices.Clone(p.ClusterIPs)
	out = append(out, p.ExternalIPs...)
	return append(out, p.LoadBalancerIPs...)
}

// clearStaleUDP runs the deletions staleUDP asks for. Failures are logged,
// not returned: the rules are already in place. A missing conntrack tool
// is logged once.
func (p *Proxier) clearStaleUDP(ctx context.Context, old, cur *snapshot.Snapshot, changed map[snapshot.ServicePortName]bool) {
	log := klog.FromContext(ctx)
	for _, a := range staleUDP(old, cur, changed) {
		var err error
		switch a.kind {
		case ctServicePort:
			err = p.ct.ClearServicePort(ctx, a.vip, a.port)
		case ctNodePort:
			err = p.ct.ClearNodePort(ctx, a.port, false)
		case ctNAT:
			err = p.ct.ClearNAT(ctx, a.vip, a.ep)
		case ctNodePortNAT:
			err = p.ct.ClearNodePortNAT(ctx, a.port, a.ep)
		}
		if errors.Is(err, conntrack.ErrNotFound) {
			if !p.ctMissingSeen {
				log.Error(err, "Cannot clear stale UDP conntrack entries; install conntrack on the node")
				p.ctMissingSeen = true
			}
			return
		}
		if err != nil {
			log.Error(err, "Clearing stale UDP conntrack entries")
		}
	}
}
