package integration

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"

	"github.com/svccheck/svccheck/proxyimpl"
	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/healthcheck"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// testBackend is the iptables backend the proxies of the integration tests
// use: SVCCHECK_IT_BACKEND=legacy|nft, nft by default.
func testBackend() iptables.Backend {
	if os.Getenv("SVCCHECK_IT_BACKEND") == string(iptables.BackendLegacy) {
		return iptables.BackendLegacy
	}
	return iptables.BackendNFT
}

// recorder is an iptables.Interface that passes everything to a real
// runner and remembers the restore texts.
type recorder struct {
	iptables.Interface
	mu       sync.Mutex
	restores [][]byte
	failErr  error // when set, every Restore fails with it, untried
}

// Restore implements iptables.Interface.
func (r *recorder) Restore(ctx context.Context, data []byte) error {
	r.mu.Lock()
	failErr := r.failErr
	r.mu.Unlock()
	if failErr != nil {
		return failErr
	}
	err := r.Interface.Restore(ctx, data)
	if err == nil {
		r.mu.Lock()
		r.restores = append(r.restores, append([]byte(nil), data...))
		r.mu.Unlock()
	}
	return err
}

// since returns the restore texts applied after the first n.
func (r *recorder) since(n int) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.restores[n:]...)
}

// failRestores makes every later Restore fail with err, without running
// iptables-restore; nil lets them through again.
func (r *recorder) failRestores(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failErr = err
}

// count returns the number of restores so far.
func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.restores)
}

// cluster is a topology with a fake API server and one real proxy per
// node, each programming its node's namespace.
type cluster struct {
	t      *testing.T
	topo   *Topology
	client *fake.Clientset
	nodes  map[string]*nodeProxy
	// syncPeriod, when set, is the proxies' SyncPeriod (how often they
	// do a full sync); the default is the proxy's own.
	syncPeriod time.Duration
	// events receives the Events every proxy emits.
	events *record.FakeRecorder
	// healthTimeout, when set, gives each proxy a ProxyHealth with this
	// timeout, which its health check node ports follow.
	healthTimeout time.Duration
}

// clusterOption changes a cluster before its proxies start.
type clusterOption func(*cluster)

// withSyncPeriod makes the proxies do a full sync at least every d.
func withSyncPeriod(d time.Duration) clusterOption {
	return func(c *cluster) { c.syncPeriod = d }
}

// withHealthTimeout gives the proxies a ProxyHealth with timeout d.
func withHealthTimeout(d time.Duration) clusterOption {
	return func(c *cluster) { c.healthTimeout = d }
}

// withClient lets fn install reactors on the fake API server before any
// proxy has listed or watched.
func withClient(fn func(*fake.Clientset)) clusterOption {
	return func(c *cluster) { fn(c.client) }
}

// nodeProxy is one node's proxy and what it runs over.
type nodeProxy struct {
	node   *Node
	ipt    *recorder
	proxy  *proxyimpl.Proxier
	stop   context.CancelFunc
	done   chan error
	health *healthcheck.ServiceServer
}

// newCluster builds a topology of nodes x podsPerNode with echo servers in
// every pod and starts a proxy for every node. Everything is torn down
// when the test ends; a failed test dumps every node's rules.
func newCluster(t *testing.T, nodes, podsPerNode int, opts ...clusterOption) *cluster {
	t.Helper()
	requireNetNS(t, "iptables-nft-restore", "iptables-legacy-restore")
	topo := newTopology(t, nodes, podsPerNode)
	startEchoes(t, topo)
	dumpOnFailure(t, topo)
	c := &cluster{t: t, topo: topo, client: fake.NewClientset(), nodes: map[string]*nodeProxy{}, events: record.NewFakeRecorder(1000)}
	for _, o := range opts {
		o(c)
	}
	for _, n := range topo.Nodes {
		c.create(newNode(n))
	}
	for _, n := range topo.Nodes {
		c.startProxy(n)
	}
	return c
}

// startProxy starts the proxy of node n and stops it at test end.
func (c *cluster) startProxy(n *Node) *nodeProxy {
	t := c.t
	t.Helper()
	np := &nodeProxy{
		node: n,
		ipt:  &recorder{Interface: iptables.New(iptables.NetNSCmder(n.NS), testBackend())},
		health: healthcheck.NewServiceServer(func(network, addr string) (net.Listener, error) {
			return ListenInNS(context.Background(), n.NS, network, addr)
		}),
		done: make(chan error, 1),
	}
	var health *healthcheck.ProxyHealth
	if c.healthTimeout > 0 {
		health = healthcheck.NewProxyHealth(c.healthTimeout, nil)
	}
	p, err := proxyimpl.New(c.client, np.ipt, conntrack.NewInNamespace(filepath.Join("/run/netns", n.NS)), proxyimpl.Config{
		NodeName:      n.Name,
		NodeIPs:       []netip.Addr{n.IP},
		ClusterCIDRs:  []netip.Prefix{ClusterCIDR},
		MinSyncPeriod: 100 * time.Millisecond,
		SyncPeriod:    c.syncPeriod,
		ServiceHealth: np.health,
		Recorder:      c.events,
		Health:        health,
	})
	if err != nil {
		t.Fatalf("creating the proxy of %s: %v", n.Name, err)
	}
	np.proxy = p
	ctx, cancel := context.WithCancel(context.Background())
	np.stop = cancel
	go func() { np.done <- p.Run(ctx) }()
	t.Cleanup(func() { np.shutdown(t) })
	c.nodes[n.Name] = np
	c.waitSynced(np, 1)
	return np
}

// shutdown stops the proxy (rules stay) and its health servers.
func (np *nodeProxy) shutdown(t *testing.T) {
	if np.stop == nil {
		return
	}
	np.stop()
	np.stop = nil
	if err := <-np.done; err != nil {
		t.Errorf("proxy of %s: %v", np.node.Name, err)
	}
	np.health.Close()
}

// waitSynced waits until np's proxy has done at least gen syncs.
func (c *cluster) waitSynced(np *nodeProxy, gen uint64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := np.proxy.WaitForGeneration(ctx, gen); err != nil {
		c.t.Fatalf("proxy of %s: %v", np.node.Name, err)
	}
}

// settle waits until every proxy has synced once more after now, so a
// change made before the call has at least been seen by the informers and
// probably been applied; assertions still poll.
func (c *cluster) settle() {
	c.t.Helper()
	for _, np := range c.nodes {
		gen := np.proxy.Generation()
		np.proxy.SyncNow()
		c.waitSynced(np, gen+1)
	}
}

// create, update and remove write API objects to the fake API server.
func (c *cluster) create(objs ...any) {
	c.t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *v1.Service:
			_, err = c.client.CoreV1().Services(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *discoveryv1.EndpointSlice:
			_, err = c.client.DiscoveryV1().EndpointSlices(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *v1.Node:
			_, err = c.client.CoreV1().Nodes().Create(ctx, o, metav1.CreateOptions{})
		default:
			c.t.Fatalf("cannot create %T", o)
		}
		if err != nil {
			c.t.Fatalf("creating %T: %v", o, err)
		}
	}
}

func (c *cluster) updateSlice(es *discoveryv1.EndpointSlice) {
	c.t.Helper()
	if _, err := c.client.DiscoveryV1().EndpointSlices(es.Namespace).Update(context.Background(), es, metav1.UpdateOptions{}); err != nil {
		c.t.Fatalf("updating EndpointSlice %s: %v", es.Name, err)
	}
}

// save returns iptables-save output of table in node n's namespace.
func (c *cluster) save(n *Node, table iptables.Table, counters bool) string {
	c.t.Helper()
	out, err := c.nodes[n.Name].ipt.Save(context.Background(), table, counters)
	if err != nil {
		c.t.Fatalf("saving %s table of %s: %v", table, n.Name, err)
	}
	return string(out)
}
