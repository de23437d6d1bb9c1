package integration

import (
	"context"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// TestIntegrationUDPStaleConntrack checks that when a UDP Service's
// endpoint goes away, the proxy clears the conntrack entry that still
// points at it: a client reusing its source port (so its flow never times
// out while probes keep coming) reaches the new endpoint.
func TestIntegrationUDPStaleConntrack(t *testing.T) {
	c := newCluster(t, 2, 2)
	node2 := c.topo.Nodes[1]
	svc := newService("dns", vip(70), v1.ProtocolUDP, 53)
	es := newSlice(svc, node2.Pods[0])
	c.create(svc, es)
	c.settle()
	from := c.topo.Nodes[0].Pods[0].NS
	spec := ProbeSpec{Proto: "udp", Addr: hostPort(vip(70), 53), Count: 1, Timeout: 2 * time.Second, SourcePort: 40053}
	udpProbe := func() ProbeResult {
		res, err := c.topo.Probe(context.Background(), from, spec)
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		return res[0]
	}
	ok, desc := eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		r := udpProbe()
		return r.Outcome == Answered && r.Reply.Server == node2.Pods[0].Name, r.String()
	})
	if !ok {
		t.Fatalf("udp before the change: got %s, want %s", desc, node2.Pods[0].Name)
	}
	// The old endpoint keeps serving: only a cleared conntrack entry moves
	// the flow to the new one.
	c.updateSlice(newSlice(svc, node2.Pods[1]))
	ok, desc = eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		r := udpProbe()
		return r.Outcome == Answered && r.Reply.Server == node2.Pods[1].Name, r.String()
	})
	if !ok {
		t.Errorf("udp after the endpoint moved: got %s, want %s (stale conntrack entry not cleared?)", desc, node2.Pods[1].Name)
	}
}

// TestIntegrationUDPFirstEndpoint checks that when a UDP Service gets its
// first endpoint, the proxy clears the conntrack entry a client made
// before, when nothing answered at the cluster IP: that entry has no DNAT,
// and a client reusing its source port (keeping the entry alive) would
// never reach the endpoint.
func TestIntegrationUDPFirstEndpoint(t *testing.T) {
	c := newCluster(t, 2, 1)
	from := c.topo.Nodes[0].Pods[0]
	spec := ProbeSpec{Proto: "udp", Addr: hostPort(vip(72), 53), Count: 1, Timeout: time.Second, SourcePort: 40054}
	udpProbe := func() ProbeResult {
		res, err := c.topo.Probe(context.Background(), from.NS, spec)
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		return res[0]
	}
	// No Service yet: the datagrams leave the node unanswered, and its
	// conntrack table holds the flow, without DNAT.
	if r := udpProbe(); r.Outcome == Answered {
		t.Fatalf("udp to %s before the Service exists: answered by %s", spec.Addr, r.Reply.Server)
	}
	flows := flowsIn(t, from.Node.NS, conntrack.ProtoUDP, netip.AddrPortFrom(vip(72), 53))
	if len(flows) == 0 || flows[0].Reply.Src != flows[0].Original.Dst {
		t.Fatalf("no conntrack flow without DNAT of the unanswered datagrams on %s (the test would prove nothing): %v", from.Node.Name, flows)
	}
	backend := c.topo.Nodes[1].Pods[0]
	svc := newService("late-dns", vip(72), v1.ProtocolUDP, 53)
	c.create(svc, newSlice(svc, backend))
	c.settle()
	ok, desc := eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		r := udpProbe()
		return r.Outcome == Answered && r.Reply.Server == backend.Name, r.String()
	})
	if !ok {
		t.Errorf("udp after the Service got its first endpoint: got %s, want %s (stale conntrack entry not cleared?)", desc, backend.Name)
	}
}

// counterRule matches an iptables-save -c rule line: its counters and text.
var counterRule = regexp.MustCompile(`^\[(\d+):(\d+)\] -A (\S+) (.*)$`)

// chainPackets sums the packet counters of chain's rules in a save.
func chainPackets(save, chain string) (packets uint64, rules int) {
	for _, line := range strings.Split(save, "\n") {
		m := counterRule.FindStringSubmatch(line)
		if m == nil || m[3] != chain {
			continue
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		packets += n
		rules++
	}
	return packets, rules
}

// TestIntegrationIncrementalSync checks that after a change to one Service
// only that Service's chains are rewritten: the restore text names no
// other Service, the other Service's rule counters keep counting, and its
// traffic is answered all along.
func TestIntegrationIncrementalSync(t *testing.T) {
	c := newCluster(t, 2, 2)
	node1 := c.topo.Nodes[0]
	pods := c.topo.Pods()
	a := newService("alpha", vip(80), v1.ProtocolTCP, 80)
	b := newService("beta", vip(81), v1.ProtocolTCP, 80)
	c.create(a, newSlice(a, pods[0], pods[1]), b, newSlice(b, pods[2], pods[3]))
	c.settle()
	from := node1.Pods[0].NS
	expectSpread(t, c.topo, from, "tcp", hostPort(vip(81), 80), probes, names(pods[2], pods[3]))
	betaChain := snapshot.SVCPrefix + chainHash(t, c, node1, "it/beta:p")
	before, rules := chainPackets(c.save(node1, iptables.TableNAT, true), betaChain)
	if before == 0 || rules == 0 {
		t.Fatalf("chain %s of it/beta:p has %d rules and %d packets after %d probes, want them counted", betaChain, rules, before, probes)
	}

	// Probe beta continuously while alpha changes.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var during []ProbeResult
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := c.topo.Probe(context.Background(), from, ProbeSpec{Proto: "tcp", Addr: hostPort(vip(81), 80), Count: 5, Timeout: 2 * time.Second})
			if err != nil {
				t.Errorf("probe: %v", err)
				return
			}
			during = append(during, res...)
		}
	})
	np := c.nodes[node1.Name]
	n := np.ipt.count()
	c.updateSlice(newSlice(a, pods[0], pods[1], pods[2]))
	c.settle()
	expectSpread(t, c.topo, from, "tcp", hostPort(vip(80), 80), probes, names(pods[0], pods[1], pods[2]))
	close(stop)
	wg.Wait()
	if _, all := servers(during); !all || len(during) == 0 {
		t.Errorf("beta during alpha's change: got %s, want every probe answered", summary(during))
	}

	texts := np.ipt.since(n)
	if len(texts) == 0 {
		t.Fatalf("no restore after alpha changed")
	}
	alpha := false
	for _, text := range texts {
		s := string(text)
		if strings.Contains(s, "it/beta") || strings.Contains(s, betaChain) || strings.Contains(s, vip(81).String()) {
			t.Errorf("restore after alpha changed touches beta:\n%s", s)
		}
		alpha = alpha || strings.Contains(s, "it/alpha")
	}
	if !alpha {
		t.Errorf("no restore after alpha changed mentions alpha:\n%s", texts)
	}
	after, _ := chainPackets(c.save(node1, iptables.TableNAT, true), betaChain)
	if after < before {
		t.Errorf("beta's chain counters went from %d to %d packets: the chain was rewritten", before, after)
	}
}

// chainHash finds the hash suffix of the SVC chain of the Service port
// named portName ("ns/name:port") in node n's nat table, from the
// comments the proxy writes.
func chainHash(t *testing.T, c *cluster, n *Node, portName string) string {
	t.Helper()
	save := c.save(n, iptables.TableNAT, false)
	for _, line := range strings.Split(save, "\n") {
		if !strings.Contains(line, portName) || !strings.HasPrefix(line, "-A "+snapshot.SVCPrefix) {
			continue
		}
		chain := strings.Fields(line)[1]
		return strings.TrimPrefix(chain, snapshot.SVCPrefix)
	}
	t.Fatalf("no %s chain for %s in:\n%s", snapshot.SVCPrefix, portName, save)
	return ""
}
