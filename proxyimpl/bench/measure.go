package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/svccheck/svccheck/proxyimpl/integration"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
)

// servicePort and endpointPort are every Service's port and its
// endpoints' (objects.go).
const (
	servicePort  = 80
	endpointPort = 8080
)

// walked is how many rules a first packet from a pod to the last-added
// Service walks before its DNAT: the fewest and the most over the paths
// it can take (one per endpoint where the proxy chooses an endpoint by
// rules, as kube-proxy's and svccheck's iptables rules do).
type walked struct {
	Fewest int `json:"fewest"`
	Most   int `json:"most"`
	// Service is the index of the Service walked to (service()).
	Service int `json:"service"`
}

// String formats w as "N" or "N-M".
func (w walked) String() string {
	if w.Fewest == w.Most {
		return fmt.Sprint(w.Fewest)
	}
	return fmt.Sprintf("%d-%d", w.Fewest, w.Most)
}

// measureNode measures, in topo's node after the proxy im left its rules
// there for n Services: the rules a first packet from the node's first
// pod to the last-added Service walks (and the most to any Service), and the new-connection rate to
// that Service through the node from that pod, for connTime. The
// Service's endpoint addresses (of every generation the partial syncs
// gave it) all live on the node's second pod, which runs an echo server.
func measureNode(ctx context.Context, topo *integration.Topology, im impl, n, partials int, connTime time.Duration) (measured, error) {
	node, client := topo.Nodes[0], topo.Nodes[0].Pods[0]
	svc := service(n - 1)
	pkt := iptrace.Packet{
		Source: client.IP.String(), Destination: svc.Spec.ClusterIP,
		Protocol: "tcp", DestinationPort: servicePort,
	}
	var m measured
	var err error
	if im.nftables {
		m.last, err = walkNFTables(ctx, topo, node, pkt)
		m.last.Service = n - 1
		m.worst = m.last
	} else {
		m.last, m.worst, err = walkIPTables(ctx, topo, node, im.backend, pkt, n-1)
	}
	if err != nil {
		return m, fmt.Errorf("rules walked to %s: %w", svc.Name, err)
	}
	if m.connRate, err = connRate(ctx, topo, m.last.Service, partials, connTime); err != nil {
		return m, err
	}
	m.worstRate = m.connRate
	if m.worst.Service != m.last.Service {
		m.worstRate, err = connRate(ctx, topo, m.worst.Service, partials, connTime)
	}
	return m, err
}

// measured is what measureNode measured.
type measured struct {
	// last is the walk to the last-added Service, worst the most rules
	// walked to any Service.
	last, worst walked
	// connRate and worstRate are new connections per second to the
	// last-added Service and to the one walked most.
	connRate, worstRate float64
}

// walkIPTables traces pkt with svccheck's packet tracer through the nat
// and filter tables that iptables-<backend>-save reads in node, and
// returns the rules walked to pkt's Service (index service) and the most walked to any
// Service (tracing the last Service of every dispatch chain, as the
// worst one of a chain is its last: the real kube-proxy orders its
// KUBE-SERVICES chain by Go map iteration, so the last-added Service can
// sit anywhere in it).
func walkIPTables(ctx context.Context, topo *integration.Topology, node *integration.Node, backend string, pkt iptrace.Packet, service int) (walked, walked, error) {
	data, err := topo.Exec(ctx, node.NS, "iptables-"+backend+"-save")
	if err != nil {
		return walked{}, walked{}, err
	}
	dump, err := ipsave.Parse(data)
	if err != nil {
		return walked{}, walked{}, err
	}
	tracer, err := iptrace.New(dump, node.IP.String(), node.PodCIDR.Addr().Next().String())
	if err != nil {
		return walked{}, walked{}, err
	}
	last, err := trace(tracer, pkt)
	if err != nil {
		return walked{}, walked{}, err
	}
	last.Service = service
	worst := last
	for _, end := range dispatchEnds(dump.Table(ipsave.TableNAT)) {
		pkt.Destination, pkt.DestinationPort = end.Addr().String(), end.Port()
		w, err := trace(tracer, pkt)
		if err != nil {
			return walked{}, walked{}, err
		}
		if w.Most > worst.Most {
			if w.Service, err = serviceIndex(end.Addr()); err != nil {
				return walked{}, walked{}, err
			}
			worst = w
		}
	}
	return last, worst, nil
}

// trace returns the fewest and the most rules pkt walks before its DNAT
// over its paths, one per endpoint.
func trace(tracer *iptrace.Tracer, pkt iptrace.Packet) (walked, error) {
	res, err := tracer.Trace(pkt)
	if err != nil {
		return walked{}, err
	}
	w := walked{Fewest: -1}
	for _, p := range res.Paths {
		if !p.DNAT {
			return walked{}, fmt.Errorf("a path to %s is not DNATed:\n%s", pkt.Destination, res)
		}
		if w.Fewest < 0 || p.RulesBeforeDNAT < w.Fewest {
			w.Fewest = p.RulesBeforeDNAT
		}
		w.Most = max(w.Most, p.RulesBeforeDNAT)
	}
	if len(res.Paths) != 10 {
		return walked{}, fmt.Errorf("%d paths to %s, want one per endpoint (10):\n%s", len(res.Paths), pkt.Destination, res)
	}
	return w, nil
}

// dispatchEnds returns, for every chain of nat that dispatches Services
// (holds two or more rules matching one destination address and port and
// jumping to a chain), the address and port of its last such rule.
func dispatchEnds(nat *ipsave.Table) []netip.AddrPort {
	if nat == nil {
		return nil
	}
	chains := map[ipsave.ChainName]bool{}
	for _, c := range nat.Chains {
		chains[c.Name] = true
	}
	var out []netip.AddrPort
	for _, c := range nat.Chains {
		var last netip.AddrPort
		count := 0
		for _, r := range c.Rules {
			if ap, ok := serviceMatch(r); ok && chains[ipsave.ChainName(r.Target.Name)] {
				last = ap
				count++
			}
		}
		if count >= 2 {
			out = append(out, last)
		}
	}
	return out
}

// serviceMatch returns the address and port rule r matches when it
// matches one destination address (-d A/32) and one TCP destination port.
func serviceMatch(r *ipsave.Rule) (netip.AddrPort, bool) {
	if r.Destination == nil || r.Destination.Negate || r.Source != nil {
		return netip.AddrPort{}, false
	}
	pre, err := netip.ParsePrefix(r.Destination.CIDR)
	if err != nil || !pre.IsSingleIP() {
		return netip.AddrPort{}, false
	}
	for _, m := range r.Matches {
		if pm, ok := m.(*ipsave.PortMatch); ok && pm.Protocol == "tcp" && pm.DestinationPort != nil &&
			!pm.DestinationPort.Negate && pm.DestinationPort.First == pm.DestinationPort.Last {
			return netip.AddrPortFrom(pre.Addr(), pm.DestinationPort.First), true
		}
	}
	return netip.AddrPort{}, false
}

// walkNFTables counts the rules pkt evaluates in node's nftables ruleset
// (walkNFT). kube-proxy's nftables mode dispatches Services through
// verdict maps and picks the endpoint inside its DNAT rule (a numgen
// map), so every path, and the walk to every Service, is the same.
func walkNFTables(ctx context.Context, topo *integration.Topology, node *integration.Node, pkt iptrace.Packet) (walked, error) {
	data, err := topo.Exec(ctx, node.NS, "nft", "-j", "list", "ruleset")
	if err != nil {
		return walked{}, err
	}
	rs, err := parseNFT(data)
	if err != nil {
		return walked{}, err
	}
	count, err := walkNFT(rs, nftPacket{
		src: netip.MustParseAddr(pkt.Source), dst: netip.MustParseAddr(pkt.Destination), dport: pkt.DestinationPort,
		local: []netip.Addr{node.IP, node.PodCIDR.Addr().Next()},
	})
	return walked{Fewest: count, Most: count}, err
}

// connRate gives the node's second pod the addresses of Service i's
// endpoints (of every generation the partial syncs gave them), routes them
// to it from the node, runs an echo server there, and measures new TCP
// connections per second (connect, read the answer, close) from the
// node's first pod to the Service for about d, the best rateWindow of it.
// Only a connection's first packet walks the nat table, so the rate falls
// with the rules it walks.
func connRate(ctx context.Context, topo *integration.Topology, i, partials int, d time.Duration) (float64, error) {
	node := topo.Nodes[0]
	client, srv := node.Pods[0], node.Pods[1]
	svc := service(i)
	for _, a := range endpointAddrs(i, partials) {
		if _, err := topo.Exec(ctx, srv.NS, "ip", "addr", "replace", a+"/32", "dev", "eth0"); err != nil {
			return 0, err
		}
		if _, err := topo.Exec(ctx, node.NS, "ip", "route", "replace", a+"/32", "via", srv.IP.String()); err != nil {
			return 0, err
		}
	}
	e, err := topo.StartEcho(ctx, srv.NS, integration.EchoSpec{Name: srv.Name, TCP: []int{endpointPort}})
	if err != nil {
		return 0, err
	}
	defer func() { _ = e.Stop() }()
	addr := net.JoinHostPort(svc.Spec.ClusterIP, fmt.Sprint(servicePort))
	// Warm up: neighbour entries, the echo server's first accepts.
	if err := integration.DialLoop(client.NS, addr, srv.Name, 20); err != nil {
		return 0, fmt.Errorf("connections to %s: %w", svc.Name, err)
	}
	return bestRate(d, func(n int) error {
		if err := integration.DialLoop(client.NS, addr, srv.Name, n); err != nil {
			return fmt.Errorf("connections to %s: %w", svc.Name, err)
		}
		return nil
	})
}

// rateWindow is the window bestRate measures a rate over.
const rateWindow = 500 * time.Millisecond

// bestRate calls dial with batches of connections for about d and returns
// the highest rate of any rateWindow of it: on a shared machine other
// work only ever slows the connections down, so the best window is the
// one least disturbed.
func bestRate(d time.Duration, dial func(n int) error) (float64, error) {
	const batch = 25
	best, start := 0.0, time.Now()
	for time.Since(start) < d {
		conns, wstart := 0, time.Now()
		for time.Since(wstart) < rateWindow {
			if err := dial(batch); err != nil {
				return 0, err
			}
			conns += batch
		}
		best = max(best, float64(conns)/time.Since(wstart).Seconds())
	}
	return best, nil
}

// serviceIndex returns the index of the Service with ClusterIP a
// (service()).
func serviceIndex(a netip.Addr) (int, error) {
	b := a.As4()
	i := int(b[2])*250 + int(b[3]) - 1
	if b[0] != 10 || b[1] != 96 || b[3] == 0 || b[3] > 250 || service(i).Spec.ClusterIP != a.String() {
		return 0, fmt.Errorf("%s is no ClusterIP of the synthetic cluster", a)
	}
	return i, nil
}
