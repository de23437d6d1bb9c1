package proxyimpl

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/proxyimpl/metrics"
)

func TestNodeAddressChangeForcesFullSync(t *testing.T) {
	env := newEnv(t, nil, service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP))
	env.start(2)
	env.sync()
	if diff := env.p.currentNodeIPs(); len(diff) != 1 || diff[0].String() != testNodeIP {
		t.Fatalf("node IPs = %v, want the Node's InternalIP %s", diff, testNodeIP)
	}
	node, err := env.client.CoreV1().Nodes().Get(env.ctx, testNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "10.0.0.2"}}
	if _, err := env.client.CoreV1().Nodes().UpdateStatus(env.ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.waitEvents(3)
	fulls := env.syncsOf(metrics.ModeFull)
	env.sync()
	if got := env.p.currentNodeIPs(); len(got) != 1 || got[0].String() != "10.0.0.2" {
		t.Errorf("node IPs = %v, want 10.0.0.2", got)
	}
	if got := env.syncsOf(metrics.ModeFull); got != fulls+1 {
		t.Errorf("full syncs = %d, want %d: the sync after a node address change is not a full one", got, fulls+1)
	}
}

func TestSliceMovedToAnotherService(t *testing.T) {
	moving := slice("demo", "a", "ep-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode})
	env := newEnv(t, nil,
		service("demo", "a", "10.96.0.10", 80, v1.ProtocolTCP),
		service("demo", "b", "10.96.0.11", 80, v1.ProtocolTCP), moving)
	env.start(4)
	env.sync()
	moved := moving.DeepCopy()
	moved.Labels["kubernetes.io/service-name"] = "b"
	env.updateSlice(moved)
	env.waitEvents(6) // both Services
	env.sync()
	for _, c := range []struct {
		vip  string
		want []string
	}{{"10.96.0.10", nil}, {"10.96.0.11", []string{"10.244.1.5:8080"}}} {
		res := env.trace(iptablesPacket(c.vip, 80))
		if got := res.Endpoints(); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("endpoints of %s = %v, want %v\n%s", c.vip, got, c.want, res)
		}
	}
}

func TestNetworkProgrammingLatency(t *testing.T) {
	env := newEnv(t, nil, service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP))
	env.start(2)
	env.sync()
	s := slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode})
	s.Annotations = map[string]string{v1.EndpointsLastChangeTriggerTime: time.Now().Add(-5 * time.Second).Format(time.RFC3339Nano)}
	env.create(s)
	env.waitEvents(3)
	env.sync()
	h := env.p.cfg.Metrics.NetworkProgrammingLatency
	// The first sync observed the Service seen at startup; the second the
	// slice, triggered five seconds ago.
	if n := testutil.CollectAndCount(h); n != 1 {
		t.Fatalf("latency series = %d, want 1", n)
	}
	const want = `svccheck_proxy_network_programming_duration_seconds_bucket{le="2.56"} 1`
	out, err := testutil.CollectAndFormat(h, expfmt.TypeTextPlain, "svccheck_proxy_network_programming_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "_count 2") {
		t.Errorf("latency histogram: want one fast observation and one of about 5s:\n%s", out)
	}
}
