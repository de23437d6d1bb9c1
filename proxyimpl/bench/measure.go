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
// pod to the last-added Service walks, and the new-connection rate to
// that Service through the node from that pod, for connTime. The
// Service's endpoint addresses (of every generation the partial syncs
// gave it) all live on the node's second pod, which runs an echo server.
func measureNode(ctx context.Context, topo *integration.Topology, im impl, n, partials int, connTime time.Duration) (walked, float64, error) {
	node, client := topo.Nodes[0], topo.Nodes[0].Pods[0]
	svc := service(n - 1)
	pkt := iptrace.Packet{
		Source: client.IP.String(), Destination: svc.Spec.ClusterIP,
		Protocol: "tcp", DestinationPort: servicePort,
	}
	var w walked
	var err error
	if im.nftables {
		w, err = walkNFTables(ctx, topo, node, pkt)
	} else {
		w, err = walkIPTables(ctx, topo, node, im.backend, pkt)
	}
	if err != nil {
		return w, 0, fmt.Errorf("rules walked to %s: %w", svc.Name, err)
	}
	rate, err := connRate(ctx, topo, endpointAddrs(n-1, partials), net.JoinHostPort(svc.Spec.ClusterIP, fmt.Sprint(servicePort)), connTime)
	if err != nil {
		return w, 0, fmt.Errorf("connection rate to %s: %w", svc.Name, err)
	}
	return w, rate, nil
}

// walkIPTables traces pkt with svccheck's packet tracer through the nat
// and filter tables that iptables-<backend>-save reads in node.
func walkIPTables(ctx context.Context, topo *integration.Topology, node *integration.Node, backend string, pkt iptrace.Packet) (walked, error) {
	data, err := topo.Exec(ctx, node.NS, "iptables-"+backend+"-save")
	if err != nil {
		return walked{}, err
	}
	dump, err := ipsave.Parse(data)
	if err != nil {
		return walked{}, err
	}
	tracer, err := iptrace.New(dump, node.IP.String(), node.PodCIDR.Addr().Next().String())
	if err != nil {
		return walked{}, err
	}
	res, err := tracer.Trace(pkt)
	if err != nil {
		return walked{}, err
	}
	w := walked{Fewest: -1}
	for _, p := range res.Paths {
		if !p.DNAT {
			return walked{}, fmt.Errorf("a path is not DNATed:\n%s", res)
		}
		if w.Fewest < 0 || p.RulesBeforeDNAT < w.Fewest {
			w.Fewest = p.RulesBeforeDNAT
		}
		w.Most = max(w.Most, p.RulesBeforeDNAT)
	}
	if len(res.Paths) != 10 {
		return walked{}, fmt.Errorf("%d paths, want one per endpoint (10):\n%s", len(res.Paths), res)
	}
	return w, nil
}

// walkNFTables counts the rules pkt evaluates in node's nftables ruleset
// (walkNFT). kube-proxy's nftables mode picks the endpoint inside its
// DNAT rule (a numgen map), so every path walks the same rules.
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

// connRate gives the node's second pod the addresses addrs, routes them
// to it from the node, runs an echo server there, and measures new TCP
// connections per second (connect, read the answer, close) from the
// node's first pod to addr for about d. Only a connection's first packet
// walks the nat table, so the rate falls with the rules it walks.
func connRate(ctx context.Context, topo *integration.Topology, addrs []string, addr string, d time.Duration) (float64, error) {
	node := topo.Nodes[0]
	client, srv := node.Pods[0], node.Pods[1]
	for _, a := range addrs {
		if _, err := topo.Exec(ctx, srv.NS, "ip", "addr", "add", a+"/32", "dev", "eth0"); err != nil {
			return 0, err
		}
		if _, err := topo.Exec(ctx, node.NS, "ip", "route", "add", a+"/32", "via", srv.IP.String()); err != nil {
			return 0, err
		}
	}
	e, err := topo.StartEcho(ctx, srv.NS, integration.EchoSpec{Name: srv.Name, TCP: []int{endpointPort}})
	if err != nil {
		return 0, err
	}
	defer func() { _ = e.Stop() }()
	// Warm up: neighbour entries, the echo server's first accepts.
	if err := integration.DialLoop(client.NS, addr, srv.Name, 20); err != nil {
		return 0, err
	}
	const batch = 100
	conns, start := 0, time.Now()
	for time.Since(start) < d {
		if err := integration.DialLoop(client.NS, addr, srv.Name, batch); err != nil {
			return 0, err
		}
		conns += batch
	}
	return float64(conns) / time.Since(start).Seconds(), nil
}
