package integration

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// echoPort is the port every pod's echo server listens on, TCP and UDP.
const echoPort = 8080

// startEchoes starts an echo server (TCP and UDP on echoPort) in every pod
// of topo and stops them when the test ends.
func startEchoes(t testing.TB, topo *Topology) {
	t.Helper()
	for _, p := range topo.Pods() {
		e, err := topo.StartEcho(context.Background(), p.NS, EchoSpec{Name: p.Name, TCP: []int{echoPort}, UDP: []int{echoPort}})
		if err != nil {
			t.Fatalf("starting echo server: %v", err)
		}
		t.Cleanup(func() {
			if err := e.Stop(); err != nil {
				t.Errorf("stopping echo server in %s: %v", p.NS, err)
			}
		})
	}
}

// hostPort joins an address and a port.
func hostPort(ip netip.Addr, port int) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

// probe runs count probes from ns and fails the test if the prober itself
// could not run.
func probe(t testing.TB, topo *Topology, ns, proto, addr string, count int) []ProbeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := topo.Probe(ctx, ns, ProbeSpec{Proto: proto, Addr: addr, Count: count, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	return res
}

// TestIntegrationHarness checks the topology itself before any proxy is
// involved: pods reach pods on other nodes directly, the outside client
// reaches the nodes, and the prober tells an answer from a refusal.
func TestIntegrationHarness(t *testing.T) {
	requireNetNS(t)
	topo := newTopology(t, 2, 2)
	startEchoes(t, topo)
	from := topo.Nodes[0].Pods[0]
	for _, to := range topo.Pods() {
		for _, proto := range []string{"tcp", "udp"} {
			res := probe(t, topo, from.NS, proto, hostPort(to.IP, echoPort), 1)
			if res[0].Outcome != Answered || res[0].Reply.Server != to.Name || res[0].Reply.ClientIP() != from.IP.String() {
				t.Errorf("%s %s -> %s: got %v, want an answer from %s seeing client %s", proto, from.Name, to.Name, res[0], to.Name, from.IP)
			}
		}
	}
	for _, n := range topo.Nodes {
		res := probe(t, topo, topo.Client, "tcp", hostPort(n.IP, echoPort), 1)
		if res[0].Outcome != Refused {
			t.Errorf("tcp client -> %s (nothing listening): got %v, want refused", n.Name, res[0])
		}
		res = probe(t, topo, n.NS, "udp", hostPort(topo.Nodes[len(topo.Nodes)-1].Pods[0].IP, echoPort+1), 1)
		if res[0].Outcome != Refused {
			t.Errorf("udp %s -> closed port: got %v, want refused", n.Name, res[0])
		}
	}
}

// TestIntegrationListenInNS checks that a listener opened from the test
// process inside a node's namespace is served there: the outside client
// reaches it on the node's address.
func TestIntegrationListenInNS(t *testing.T) {
	requireNetNS(t)
	topo := newTopology(t, 1, 0)
	n := topo.Nodes[0]
	l, err := ListenInNS(context.Background(), n.NS, "tcp4", hostPort(n.IP, echoPort))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go serveTCP(l, "in-"+n.Name)
	res := probe(t, topo, topo.Client, "tcp", hostPort(n.IP, echoPort), 1)
	if res[0].Outcome != Answered || res[0].Reply.Server != "in-"+n.Name || res[0].Reply.ClientIP() != topo.ClientIP.String() {
		t.Errorf("client -> %s: got %v, want an answer from in-%s seeing %s", n.Name, res[0], n.Name, topo.ClientIP)
	}
}
