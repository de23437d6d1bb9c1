package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/proxyimpl"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// portSVCChain returns the SVC chain svccheck renders for svc's first port.
func portSVCChain(t *testing.T, svc *v1.Service, es *discoveryv1.EndpointSlice) string {
	t.Helper()
	ports, problems := snapshot.ServicePorts(snapshot.Config{}, svc, []*discoveryv1.EndpointSlice{es})
	if len(ports) != 1 || len(problems) > 0 || ports[0].SVCChain == "" {
		t.Fatalf("modelling %s: %d ports, problems %v", svc.Name, len(ports), problems)
	}
	return ports[0].SVCChain
}

// iptablesIn runs the test backend's iptables in node n's namespace.
func iptablesIn(t *testing.T, c *cluster, n *Node, args ...string) {
	t.Helper()
	args = append([]string{"-w"}, args...)
	if out, err := c.topo.Exec(context.Background(), n.NS, "iptables-"+string(testBackend()), args...); err != nil {
		t.Fatalf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestIntegrationStrayJumpToStaleChain checks that rules svccheck does not
// know of that jump to one of its chains (an older version's hook, a debug
// rule) do not wedge the sync that deletes the chain: a proxy restarted
// after the chain's Service went away removes the jumps and the chain,
// leaves the rest of the foreign state alone, and keeps syncing.
func TestIntegrationStrayJumpToStaleChain(t *testing.T) {
	c := newCluster(t, 1, 1)
	n := c.topo.Nodes[0]
	pod := n.Pods[0]
	keep := newService("keep", vip(80), v1.ProtocolTCP, 80)
	gone := newService("gone", vip(81), v1.ProtocolTCP, 80)
	goneSlice := newSlice(gone, pod)
	c.create(keep, newSlice(keep, pod), gone, goneSlice)
	c.settle()
	stale := portSVCChain(t, gone, goneSlice)
	if !strings.Contains(c.save(n, iptables.TableNAT, false), ":"+stale+" ") {
		t.Fatalf("chain %s of %s not in the nat table", stale, gone.Name)
	}

	c.nodes[n.Name].shutdown(t)
	ctx := context.Background()
	if err := c.client.CoreV1().Services(gone.Namespace).Delete(ctx, gone.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	iptablesIn(t, c, n, "-t", "nat", "-N", "DEBUG")
	iptablesIn(t, c, n, "-t", "nat", "-A", "DEBUG", "-s", "10.98.0.9/32", "-j", "RETURN")
	iptablesIn(t, c, n, "-t", "nat", "-A", "DEBUG", "-s", "10.98.0.7/32", "-j", stale)
	iptablesIn(t, c, n, "-t", "nat", "-A", "OUTPUT", "-d", "10.98.0.7/32", "-p", "tcp", "-m", "comment", "--comment", "an old hook", "-j", stale)
	iptablesIn(t, c, n, "-t", "nat", "-A", "PREROUTING", "-s", "10.98.0.8/32", "-g", stale)
	iptablesIn(t, c, n, "-t", "nat", "-A", "OUTPUT", "-d", "10.98.0.10/32", "-j", "DEBUG")
	want := foreignView(t, c, n)

	// The first sync of the restarted proxy is a full one over a chain it
	// no longer renders; startProxy waits for it to succeed.
	c.startProxy(n)
	nat := c.save(n, iptables.TableNAT, false)
	if strings.Contains(nat, stale) {
		t.Errorf("nat table still names %s after a full sync:\n%s", stale, nat)
	}
	if got := foreignView(t, c, n); got != want {
		t.Errorf("foreign rules after the full sync:\n%s\nwant:\n%s", got, want)
	}
	expectSpread(t, c.topo, pod.NS, "tcp", hostPort(vip(80), 80), 3, names(pod))

	later := newService("later", vip(82), v1.ProtocolTCP, 80)
	c.create(later, newSlice(later, pod))
	c.settle()
	expectSpread(t, c.topo, pod.NS, "tcp", hostPort(vip(82), 80), 3, names(pod))
}

// TestIntegrationOneBadServiceAmongMany checks that a Service whose rules
// the kernel refuses costs that Service alone. The refusal is the real
// kernel's: a foreign rule in nat POSTROUTING jumps to the bad Service's
// SVC chain, and the kernel refuses a DNAT reachable from POSTROUTING.
// The restarted proxy's full sync over a thousand good Services and the
// bad one must program the good ones and emit a Warning Event naming the
// bad one.
func TestIntegrationOneBadServiceAmongMany(t *testing.T) {
	const good = 1000
	c := newCluster(t, 1, 1)
	n := c.topo.Nodes[0]
	pod := n.Pods[0]
	c.nodes[n.Name].shutdown(t)
	for i := 1; i <= good; i++ {
		svc := newService(fmt.Sprintf("good-%04d", i), vip(i), v1.ProtocolTCP, 80)
		c.create(svc, newSlice(svc, pod))
	}
	bad := newService("bad", vip(good+1), v1.ProtocolTCP, 80)
	badSlice := newSlice(bad, pod)
	c.create(bad, badSlice)
	badChain := portSVCChain(t, bad, badSlice)
	iptablesIn(t, c, n, "-t", "nat", "-N", badChain)
	iptablesIn(t, c, n, "-t", "nat", "-A", "POSTROUTING", "-d", "10.98.0.1/32", "-j", badChain)

	c.startProxy(n) // waits for a successful sync
	nat := c.save(n, iptables.TableNAT, false)
	if got := strings.Count(nat, "\n:"+snapshot.SVCPrefix); got != good {
		t.Errorf("nat table holds %d SVC chains, want %d (the good Services')", got, good)
	}
	// The hairpin chain's comments may still name it: a hairpin rule
	// only marks traffic to masquerade.
	if strings.Contains(nat, "it/bad:p cluster IP") || strings.Contains(nat, badChain) {
		t.Errorf("nat table holds rules of the bad Service:\n%s", nat)
	}
	for _, i := range []int{1, 2, good / 2, good - 1, good} {
		expectSpread(t, c.topo, pod.NS, "tcp", hostPort(vip(i), 80), 1, names(pod))
	}
	var events []string
	for len(c.events.Events) > 0 {
		events = append(events, <-c.events.Events)
	}
	var named int
	for _, ev := range events {
		if strings.HasPrefix(ev, "Warning "+proxyimpl.EventReasonFailedToProgram+" ") {
			if !strings.Contains(ev, "it/bad:p") {
				t.Errorf("event names another port than the bad one: %q", ev)
			}
			named++
		}
	}
	if named != 1 {
		t.Errorf("got %d %s Events naming the bad Service, want 1; events:\n%s", named, proxyimpl.EventReasonFailedToProgram, strings.Join(events, "\n"))
	}
}
