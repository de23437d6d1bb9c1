package integration

import (
	"context"
	"net/netip"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// loadBalancer makes the Service a LoadBalancer on node port np with load
// balancer IP ip, open to the source ranges given.
func loadBalancer(np int32, ip netip.Addr, ranges ...string) svcOpt {
	return func(s *v1.Service) {
		nodePort(np)(s)
		s.Spec.Type = v1.ServiceTypeLoadBalancer
		s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: ip.String()}}
		s.Spec.LoadBalancerSourceRanges = ranges
	}
}

// addClient adds another outside client on the node network, namespace
// Client+suffix at ip, deleted with the topology.
func addClient(t *testing.T, topo *Topology, suffix string, ip netip.Addr) string {
	t.Helper()
	ctx := context.Background()
	ns, port := topo.Client+suffix, "lanclient"+suffix
	if err := topo.addLANHost(ctx, ns, port, ip); err != nil {
		t.Fatal(err)
	}
	if err := topo.ipBatch(ctx, topo.Bridge, "link set "+port+" master br0", "link set "+port+" up"); err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestIntegrationLoadBalancerSourceRanges checks loadBalancerSourceRanges
// with real packets: the load balancer IPs route to node1, which holds
// them as local addresses (as VIP-style load balancers do). A client in
// the ranges is answered; one outside them times out (dropped, not
// refused by the node); the node port stays open to both, as with
// kube-proxy; and a node whose address is in the ranges reaches a load
// balancer IP it holds, its packets carrying that IP as their source.
func TestIntegrationLoadBalancerSourceRanges(t *testing.T) {
	c := newCluster(t, 2, 2)
	node1 := c.topo.Nodes[0]
	lbIP := netip.MustParseAddr("10.215.0.1")
	nodeLBIP := netip.MustParseAddr("10.215.0.2")
	other := addClient(t, c.topo, "2", netip.MustParseAddr("10.210.0.101"))
	ctx := context.Background()
	for _, ns := range []string{c.topo.Client, other} {
		if err := c.topo.ipBatch(ctx, ns, "route add 10.215.0.0/24 via "+node1.IP.String()); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.topo.ipBatch(ctx, node1.NS, "addr add "+lbIP.String()+"/32 dev lo", "addr add "+nodeLBIP.String()+"/32 dev lo"); err != nil {
		t.Fatal(err)
	}
	guarded := newService("guarded", vip(70), v1.ProtocolTCP, 80,
		loadBalancer(30084, lbIP, c.topo.ClientIP.String()+"/32"))
	nodeAllowed := newService("node-allowed", vip(71), v1.ProtocolTCP, 80,
		loadBalancer(30085, nodeLBIP, node1.IP.String()+"/32"))
	c.create(guarded, newSlice(guarded, c.topo.Pods()...), nodeAllowed, newSlice(nodeAllowed, c.topo.Pods()...))
	c.settle()

	all := names(c.topo.Pods()...)
	expectSpread(t, c.topo, c.topo.Client, "tcp", hostPort(lbIP, 80), probes, all)
	expectOutcome(t, c.topo, other, "tcp", hostPort(lbIP, 80), 3, Timeout)
	expectSpread(t, c.topo, other, "tcp", hostPort(node1.IP, 30084), probes, all)
	expectSpread(t, c.topo, node1.NS, "tcp", hostPort(nodeLBIP, 80), probes, all)
	expectOutcome(t, c.topo, c.topo.Client, "tcp", hostPort(nodeLBIP, 80), 3, Timeout)
}
