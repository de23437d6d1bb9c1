package integration

import (
	"errors"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// expectHealth polls the health check node port hc of node n from the
// outside client until it answers HTTP status with a body containing each
// of want.
func expectHealth(t *testing.T, c *cluster, n *Node, hc, status int, what string, want ...string) {
	t.Helper()
	ok, desc := eventually(30*time.Second, 200*time.Millisecond, func() (bool, string) {
		res := probe(t, c.topo, c.topo.Client, "http", hostPort(n.IP, hc), 1)
		if res[0].Outcome != Answered || res[0].Status != status {
			return false, res[0].String()
		}
		for _, w := range want {
			if !strings.Contains(res[0].Body, w) {
				return false, res[0].String()
			}
		}
		return true, res[0].String()
	})
	if !ok {
		t.Errorf("%s: health check node port of %s: got %s, want HTTP %d with %s", what, n.Name, desc, status, strings.Join(want, ", "))
	}
}

// terminating returns a copy of es whose endpoints are all terminating
// but still serving, as during a long graceful shutdown.
func terminating(es *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	out := es.DeepCopy()
	no, yes := false, true
	for i := range out.Endpoints {
		out.Endpoints[i].Conditions = discoveryv1.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}
	}
	return out
}

// TestIntegrationHealthCheckNodePort checks the health check node port of
// a real proxy as a load balancer sees it: 503 on a node whose local
// endpoints are all terminating (which still get the traffic that comes),
// 503 while every sync fails past the health timeout, and 200 once the
// endpoints are ready again and once a sync succeeds again.
func TestIntegrationHealthCheckNodePort(t *testing.T) {
	c := newCluster(t, 1, 2, withHealthTimeout(2*time.Second))
	node1 := c.topo.Nodes[0]
	const hc = 30257
	svc := newService("hc", vip(60), v1.ProtocolTCP, 80, nodePort(30083), localTraffic(hc))
	es := newSlice(svc, node1.Pods...)
	c.create(svc, es)
	c.settle()
	expectHealth(t, c, node1, hc, 200, "ready local endpoints", `"localEndpoints":2`, `"serviceProxyHealthy":true`)

	c.updateSlice(terminating(es))
	c.settle()
	expectHealth(t, c, node1, hc, 503, "terminating local endpoints", `"localEndpoints":0`, `"serviceProxyHealthy":true`)
	expectSpread(t, c.topo, c.topo.Client, "tcp", hostPort(node1.IP, 30083), probes, names(node1.Pods...))

	c.updateSlice(es)
	c.settle()
	expectHealth(t, c, node1, hc, 200, "endpoints ready again", `"localEndpoints":2`)

	np := c.nodes[node1.Name]
	np.ipt.failRestores(errors.New("injected iptables-restore failure"))
	c.updateSlice(newSlice(svc, node1.Pods[0]))
	expectHealth(t, c, node1, hc, 503, "syncs failing", `"serviceProxyHealthy":false`)

	np.ipt.failRestores(nil)
	np.proxy.SyncNow()
	expectHealth(t, c, node1, hc, 200, "syncs succeeding again", `"localEndpoints":1`, `"serviceProxyHealthy":true`)
}
