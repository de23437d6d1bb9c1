package integration

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svccheck/svccheck/proxyimpl/conntrack"
)

// udpClient sends one UDP probe at a time to addr from namespace ns, always
// from source port sport, so every probe reuses one conntrack flow.
type udpClient struct {
	t    *testing.T
	topo *Topology
	ns   string
	spec ProbeSpec
}

// newUDPClient returns a udpClient.
func newUDPClient(t *testing.T, topo *Topology, ns, addr string, sport int) *udpClient {
	return &udpClient{t: t, topo: topo, ns: ns,
		spec: ProbeSpec{Proto: "udp", Addr: addr, Count: 1, Timeout: time.Second, SourcePort: sport}}
}

// probe sends one datagram and waits for the answer.
func (c *udpClient) probe() ProbeResult {
	c.t.Helper()
	res, err := c.topo.Probe(context.Background(), c.ns, c.spec)
	if err != nil {
		c.t.Fatalf("probe: %v", err)
	}
	return res[0]
}

// waitFor probes every 200 ms until server answers or budget runs out,
// and logs how long that took; it fails the test (what) when server never
// answered.
func (c *udpClient) waitFor(server string, budget time.Duration, what string) {
	c.t.Helper()
	start := time.Now()
	ok, desc := eventually(budget, 200*time.Millisecond, func() (bool, string) {
		r := c.probe()
		return r.Outcome == Answered && r.Reply.Server == server, r.String()
	})
	if !ok {
		c.t.Errorf("udp %s -> %s from port %d %s: after %v got %s, want %s (stale conntrack flow not cleared?)",
			c.ns, c.spec.Addr, c.spec.SourcePort, what, budget, desc, server)
		return
	}
	c.t.Logf("udp %s -> %s %s: answered by %s after %v", c.ns, c.spec.Addr, what, server, time.Since(start).Round(10*time.Millisecond))
}

// flowsIn lists node namespace ns's IPv4 conntrack flows of proto to dst
// (through netlink: a DeleteFlows that deletes nothing).
func flowsIn(t *testing.T, ns string, proto uint8, dst netip.AddrPort) []conntrack.Flow {
	t.Helper()
	var out []conntrack.Flow
	_, err := conntrack.NewInNamespace(filepath.Join("/run/netns", ns)).DeleteFlows(context.Background(), false, func(f conntrack.Flow) bool {
		if f.Protocol == proto && f.Original.Dst == dst {
			out = append(out, f)
		}
		return false
	})
	if err != nil {
		t.Fatalf("listing conntrack flows in %s: %v", ns, err)
	}
	return out
}

// updateService replaces a Service through the fake API server.
func (c *cluster) updateService(svc *v1.Service) {
	c.t.Helper()
	if _, err := c.client.CoreV1().Services(svc.Namespace).Update(context.Background(), svc, metav1.UpdateOptions{}); err != nil {
		c.t.Fatalf("updating Service %s: %v", svc.Name, err)
	}
}

// withTargetPort returns svc and its slice es moved to target port port.
func withTargetPort(svc *v1.Service, es *discoveryv1.EndpointSlice, port int32) (*v1.Service, *discoveryv1.EndpointSlice) {
	svc, es = svc.DeepCopy(), es.DeepCopy()
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(port)
	es.Ports[0].Port = &port
	return svc, es
}

// TestIntegrationUDPTargetPortChange checks that when a UDP Service's
// target port moves while its endpoint stays, clients that keep sending
// from one source port follow: through the cluster IP from a pod, and
// through the node port from outside. The backend answers on both ports,
// so only a cleared flow moves a client to the new port.
func TestIntegrationUDPTargetPortChange(t *testing.T) {
	c := newCluster(t, 2, 1)
	node1, backend := c.topo.Nodes[0], c.topo.Nodes[1].Pods[0]
	const newPort = 9090
	newName := fmt.Sprintf("%s-port%d", backend.Name, newPort)
	e, err := c.topo.StartEcho(context.Background(), backend.NS, EchoSpec{Name: newName, UDP: []int{newPort}})
	if err != nil {
		t.Fatalf("starting the echo server on port %d: %v", newPort, err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	svc := newService("retarget", vip(74), v1.ProtocolUDP, 53, nodePort(30074))
	es := newSlice(svc, backend)
	c.create(svc, es)
	c.settle()
	clients := []*udpClient{
		newUDPClient(t, c.topo, node1.Pods[0].NS, hostPort(vip(74), 53), 40074),
		newUDPClient(t, c.topo, c.topo.Client, hostPort(node1.IP, 30074), 40075),
	}
	for _, cl := range clients {
		cl.waitFor(backend.Name, 20*time.Second, "before the change")
	}
	if t.Failed() {
		t.FailNow()
	}
	svc, es = withTargetPort(svc, es, newPort)
	c.updateService(svc)
	c.updateSlice(es)
	for _, cl := range clients {
		cl.waitFor(newName, 10*time.Second, "after the target port moved")
	}
}

// TestIntegrationUDPStaleAfterRestart checks that a proxy clears, at its
// first sync, a flow to an endpoint that was replaced while it was down:
// it never saw the change happen, the live table is what it goes by.
func TestIntegrationUDPStaleAfterRestart(t *testing.T) {
	c := newCluster(t, 2, 2)
	node1, node2 := c.topo.Nodes[0], c.topo.Nodes[1]
	svc := newService("restart-dns", vip(75), v1.ProtocolUDP, 53)
	c.create(svc, newSlice(svc, node2.Pods[0]))
	c.settle()
	cl := newUDPClient(t, c.topo, node1.Pods[0].NS, hostPort(vip(75), 53), 40076)
	cl.waitFor(node2.Pods[0].Name, 20*time.Second, "before the restart")

	c.nodes[node1.Name].shutdown(t)
	c.updateSlice(newSlice(svc, node2.Pods[1]))
	// The replaced pod still answers (only the API says it is gone), and
	// node1 keeps its old rules: the flow stays on it while no proxy runs.
	time.Sleep(500 * time.Millisecond)
	if r := cl.probe(); r.Outcome != Answered || r.Reply.Server != node2.Pods[0].Name {
		t.Fatalf("udp while node1's proxy is down: got %s, want %s (the test would prove nothing)", r, node2.Pods[0].Name)
	}
	c.startProxy(node1)
	cl.waitFor(node2.Pods[1].Name, 10*time.Second, "after the restart")
}
