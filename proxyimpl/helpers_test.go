package proxyimpl

import (
	"context"
	"net/netip"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
)

// Test topology: this node is node-a (10.0.0.1); pods are in 10.244.0.0/16.
const (
	testNode   = "node-a"
	testNodeIP = "10.0.0.1"
)

// testEnv is a Proxier over a fake clientset, an iptables Fake and a
// conntrack Fake.
type testEnv struct {
	t      testing.TB
	ctx    context.Context
	p      *Proxier
	client *fake.Clientset
	ipt    *iptablestest.Fake
	ct     *conntrack.Fake
}

// newEnv builds a Proxier for node-a over objs plus the Node object.
// mutate may change the Config first.
func newEnv(t testing.TB, mutate func(*Config), objs ...runtime.Object) *testEnv {
	t.Helper()
	fakeIPT := iptablestest.NewFake()
	env := newEnvIPT(t, fakeIPT, mutate, objs...)
	env.ipt = fakeIPT
	return env
}

// newEnvIPT is newEnv programming ipt (env.ipt stays nil).
func newEnvIPT(t testing.TB, ipt iptables.Interface, mutate func(*Config), objs ...runtime.Object) *testEnv {
	t.Helper()
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: testNode},
		Status:     v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: testNodeIP}}},
	}
	client := fake.NewClientset(append([]runtime.Object{node}, objs...)...)
	cfg := Config{
		NodeName:            testNode,
		ClusterCIDRs:        []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		InformerSyncTimeout: 10 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	env := &testEnv{t: t, ctx: ctx, client: client, ct: conntrack.NewFake()}
	p, err := New(client, ipt, env.ct, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env.p = p
	t.Cleanup(func() {
		cancel()
		p.factory.Shutdown()
		p.nodes.Shutdown()
	})
	return env
}

// start starts the informers and waits for their first list and for the
// initial notifications (wantEvents of them).
func (e *testEnv) start(wantEvents int64) {
	e.t.Helper()
	if err := e.p.startInformers(e.ctx); err != nil {
		e.t.Fatalf("starting informers: %v", err)
	}
	e.waitEvents(wantEvents)
}

// waitEvents waits until the Proxier has handled n informer notifications.
func (e *testEnv) waitEvents(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.p.events.Load() < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("handled %d informer notifications, want %d", e.p.events.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// sync runs one sync and fails the test on error.
func (e *testEnv) sync() {
	e.t.Helper()
	if err := e.p.Sync(e.ctx); err != nil {
		e.t.Fatalf("Sync: %v", err)
	}
}

// create creates objects through the clientset.
func (e *testEnv) create(objs ...runtime.Object) {
	e.t.Helper()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *v1.Service:
			_, err = e.client.CoreV1().Services(o.Namespace).Create(e.ctx, o, metav1.CreateOptions{})
		case *discoveryv1.EndpointSlice:
			_, err = e.client.DiscoveryV1().EndpointSlices(o.Namespace).Create(e.ctx, o, metav1.CreateOptions{})
		default:
			e.t.Fatalf("create: unsupported %T", o)
		}
		if err != nil {
			e.t.Fatalf("create: %v", err)
		}
	}
}

// updateSlice replaces an EndpointSlice through the clientset.
func (e *testEnv) updateSlice(s *discoveryv1.EndpointSlice) {
	e.t.Helper()
	if _, err := e.client.DiscoveryV1().EndpointSlices(s.Namespace).Update(e.ctx, s, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("update: %v", err)
	}
}

// trace traces a packet through the Fake's current tables.
func (e *testEnv) trace(pkt iptrace.Packet) *iptrace.Result {
	e.t.Helper()
	return traceDump(e.t, e.ipt.Dump(), pkt)
}

// traceDump traces a packet through d as node-a.
func traceDump(t testing.TB, d *ipsave.Dump, pkt iptrace.Packet) *iptrace.Result {
	t.Helper()
	tr, err := iptrace.New(d, testNodeIP)
	if err != nil {
		t.Fatalf("NewTracer: %v", err)
	}
	res, err := tr.Trace(pkt)
	if err != nil {
		t.Fatalf("Trace: %v", err)
	}
	return res
}

// service returns a ClusterIP Service with one port named "p" (port and
// protocol as given).
func service(ns, name, clusterIP string, port int32, proto v1.Protocol, mutate ...func(*v1.Service)) *v1.Service {
	s := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{
			Type:       v1.ServiceTypeClusterIP,
			ClusterIP:  clusterIP,
			ClusterIPs: []string{clusterIP},
			Ports:      []v1.ServicePort{{Name: "p", Port: port, Protocol: proto}},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

// endpoint is one ready endpoint: address and node.
type endpoint struct{ ip, node string }

// slice returns an EndpointSlice of ns/svcName with port "p" (targetPort,
// proto) and ready endpoints.
func slice(ns, svcName, name string, targetPort int32, proto v1.Protocol, eps ...endpoint) *discoveryv1.EndpointSlice {
	portName := "p"
	ready := true
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svcName}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &targetPort, Protocol: &proto}},
	}
	for _, ep := range eps {
		node := ep.node
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ep.ip},
			NodeName:   &node,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		})
	}
	return s
}

// syncsOf returns how many syncs of mode (metrics.ModeFull or
// ModePartial) the proxier has run, failed ones included.
func (e *testEnv) syncsOf(mode string) uint64 {
	e.t.Helper()
	var m dto.Metric
	if err := e.p.cfg.Metrics.SyncDuration.WithLabelValues(mode).(prometheus.Metric).Write(&m); err != nil {
		e.t.Fatalf("reading the sync duration histogram: %v", err)
	}
	return m.GetHistogram().GetSampleCount()
}
