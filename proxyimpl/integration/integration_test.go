package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// probes is how many probes a spread check sends: with 4 endpoints, the
// chance that one of them never answers 40 uniform picks is below 1e-4.
const probes = 40

// TestIntegrationClusterIP checks that a ClusterIP Service spreads TCP and
// UDP connections over all endpoints, from a pod and from the node itself.
func TestIntegrationClusterIP(t *testing.T) {
	c := newCluster(t, 2, 2)
	all := names(c.topo.Pods()...)
	for i, proto := range []v1.Protocol{v1.ProtocolTCP, v1.ProtocolUDP} {
		svc := newService("web-"+strings.ToLower(string(proto)), vip(10+i), proto, 80)
		c.create(svc, newSlice(svc, c.topo.Pods()...))
		c.settle()
		addr := hostPort(vip(10+i), 80)
		p := strings.ToLower(string(proto))
		expectSpread(t, c.topo, c.topo.Nodes[0].Pods[0].NS, p, addr, probes, all)
		expectSpread(t, c.topo, c.topo.Nodes[1].NS, p, addr, probes, all)
	}
}

// TestIntegrationNodePort checks that a NodePort Service answers the
// outside client on every node's address, from endpoints on every node.
func TestIntegrationNodePort(t *testing.T) {
	c := newCluster(t, 2, 2)
	svc := newService("np", vip(20), v1.ProtocolTCP, 80, nodePort(30080))
	c.create(svc, newSlice(svc, c.topo.Pods()...))
	c.settle()
	for _, n := range c.topo.Nodes {
		expectSpread(t, c.topo, c.topo.Client, "tcp", hostPort(n.IP, 30080), probes, names(c.topo.Pods()...))
	}
}

// TestIntegrationExternalTrafficPolicyLocal checks eTP Local: the node with
// local endpoints answers from them only and keeps the client's address;
// the node without drops the traffic; the health check node port says 200
// and 503.
func TestIntegrationExternalTrafficPolicyLocal(t *testing.T) {
	c := newCluster(t, 2, 2)
	node1, node2 := c.topo.Nodes[0], c.topo.Nodes[1]
	svc := newService("local", vip(30), v1.ProtocolTCP, 80, nodePort(30081), localTraffic(30256))
	c.create(svc, newSlice(svc, node1.Pods...))
	c.settle()
	ok, desc := eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		res := probe(t, c.topo, c.topo.Client, "tcp", hostPort(node1.IP, 30081), probes)
		seen, all := servers(res)
		for _, r := range res {
			if r.Outcome == Answered && r.Reply.ClientIP() != c.topo.ClientIP.String() {
				return false, "backend saw " + r.Reply.Client + ": " + summary(res)
			}
		}
		return all && setString(seen) == setString(names(node1.Pods...)), summary(res)
	})
	if !ok {
		t.Errorf("node port on %s: got %s, want answers from %s seeing client %s", node1.Name, desc, setString(names(node1.Pods...)), c.topo.ClientIP)
	}
	expectOutcome(t, c.topo, c.topo.Client, "tcp", hostPort(node2.IP, 30081), 3, Timeout)

	for _, tc := range []struct {
		node   *Node
		status int
		count  string
	}{{node1, 200, `"localEndpoints":2`}, {node2, 503, `"localEndpoints":0`}} {
		ok, desc := eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
			res := probe(t, c.topo, c.topo.Client, "http", hostPort(tc.node.IP, 30256), 1)
			return res[0].Outcome == Answered && res[0].Status == tc.status && strings.Contains(res[0].Body, tc.count), res[0].String()
		})
		if !ok {
			t.Errorf("health check node port on %s: got %s, want HTTP %d with %s", tc.node.Name, desc, tc.status, tc.count)
		}
	}
}

// TestIntegrationSessionAffinity checks ClientIP affinity: one client keeps
// its endpoint, and once it has been idle longer than the timeout it can
// land on another one.
func TestIntegrationSessionAffinity(t *testing.T) {
	c := newCluster(t, 2, 2)
	const timeout = 3
	svc := newService("sticky", vip(40), v1.ProtocolTCP, 80, clientIPAffinity(timeout))
	c.create(svc, newSlice(svc, c.topo.Pods()...))
	c.settle()
	from := c.topo.Nodes[0].Pods[0].NS
	addr := hostPort(vip(40), 80)
	var first string
	ok, desc := eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		res := probe(t, c.topo, from, "tcp", addr, 20)
		seen, all := servers(res)
		if all && len(seen) == 1 {
			first = res[0].Reply.Server
		}
		return all && len(seen) == 1, summary(res)
	})
	if !ok {
		t.Fatalf("affinity: got %s, want one endpoint answering every probe", desc)
	}
	// Idle past the timeout between rounds: each round picks afresh, so
	// some round lands elsewhere (1/4 chance per round to stay).
	ok, desc = eventually(12*(timeout+1)*time.Second, (timeout+1)*time.Second, func() (bool, string) {
		res := probe(t, c.topo, from, "tcp", addr, 1)
		return res[0].Outcome == Answered && res[0].Reply.Server != first, summary(res)
	})
	if !ok {
		t.Errorf("affinity timeout: still %s after idling past %ds (last %s), want another endpoint some time", first, timeout, desc)
	}
}

// TestIntegrationNoEndpoints checks that a Service without endpoints
// rejects: connection refused, not a timeout, for TCP and UDP, by cluster
// IP and by node port.
func TestIntegrationNoEndpoints(t *testing.T) {
	c := newCluster(t, 2, 1)
	tcp := newService("empty-tcp", vip(50), v1.ProtocolTCP, 80, nodePort(30082))
	udp := newService("empty-udp", vip(51), v1.ProtocolUDP, 53)
	c.create(tcp, newSlice(tcp), udp, newSlice(udp))
	c.settle()
	pod := c.topo.Nodes[0].Pods[0].NS
	expectOutcome(t, c.topo, pod, "tcp", hostPort(vip(50), 80), 3, Refused)
	expectOutcome(t, c.topo, pod, "udp", hostPort(vip(51), 53), 3, Refused)

	// A closed port on a node refuses by itself, so something listens on
	// the node port: only the proxy's REJECT rule can refuse it now.
	node2 := c.topo.Nodes[1]
	l, err := ListenInNS(context.Background(), node2.NS, "tcp4", hostPort(node2.IP, 30082))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go serveTCP(l, "listener-"+node2.Name)
	expectOutcome(t, c.topo, c.topo.Client, "tcp", hostPort(node2.IP, 30082), 3, Refused)
	// Without the Service the listener answers: the refusal was the rule's.
	if err := c.client.CoreV1().Services(tcp.Namespace).Delete(context.Background(), tcp.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting Service %s: %v", tcp.Name, err)
	}
	c.settle()
	expectOutcome(t, c.topo, c.topo.Client, "tcp", hostPort(node2.IP, 30082), 3, Answered)
}

// TestIntegrationHairpin checks that a pod reaches itself through its
// Service (the proxy masquerades the hairpin connection).
func TestIntegrationHairpin(t *testing.T) {
	c := newCluster(t, 1, 1)
	pod := c.topo.Nodes[0].Pods[0]
	for i, proto := range []string{"tcp", "udp"} {
		svc := newService("self-"+proto, vip(60+i), v1.Protocol(strings.ToUpper(proto)), 80)
		c.create(svc, newSlice(svc, pod))
		c.settle()
		expectSpread(t, c.topo, pod.NS, proto, hostPort(vip(60+i), 80), 3, names(pod))
	}
}
