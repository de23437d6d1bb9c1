package integration

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

// TestIntegrationHeadlessLabel checks the service.kubernetes.io/headless
// label where kube-proxy honours it: a ClusterIP Service carrying it is
// still proxied, and an EndpointSlice carrying it is not used.
func TestIntegrationHeadlessLabel(t *testing.T) {
	c := newCluster(t, 2, 1)
	node1, node2 := c.topo.Nodes[0], c.topo.Nodes[1]
	svc := newService("labelled", vip(60), v1.ProtocolTCP, 80)
	svc.Labels = map[string]string{"service.kubernetes.io/headless": ""}
	used := newSlice(svc, node1.Pods...)
	hidden := newSlice(svc, node2.Pods...)
	hidden.Name = svc.Name + "-2"
	hidden.Labels["service.kubernetes.io/headless"] = ""
	c.create(svc, used, hidden)
	c.settle()
	expectSpread(t, c.topo, node2.Pods[0].NS, "tcp", hostPort(vip(60), 80), probes, names(node1.Pods...))
}
