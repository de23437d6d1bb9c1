package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// benchNode is the node the benchmark rules are rendered for.
const benchNode = "node1"

// benchNodes is the number of nodes the synthetic endpoints spread over,
// so that benchNode has a realistic number of local endpoints (100 at
// 10000 x 10).
const benchNodes = 1000

// scale is a synthetic cluster: services ClusterIP TCP Services with
// endpoints endpoints each, spread round-robin over benchNodes nodes.
type scale struct {
	services, endpoints int
}

// String names the scale in benchmark names, e.g. "10000x10".
func (s scale) String() string { return fmt.Sprintf("%dx%d", s.services, s.endpoints) }

// benchAddr returns the i-th address of a /14 starting at base.
func benchAddr(base netip.Addr, i int) netip.Addr {
	a := base.As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// benchService returns Service i of a synthetic cluster and its slice.
func benchService(i, endpoints, generation int) (*v1.Service, *discoveryv1.EndpointSlice) {
	vip := benchAddr(netip.MustParseAddr("10.211.0.1"), i).String()
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("svc-%05d", i)},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeClusterIP, ClusterIP: vip, ClusterIPs: []string{vip},
			Ports: []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	name, proto, port := "http", v1.ProtocolTCP, int32(8080)
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "bench", Name: svc.Name + "-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}},
	}
	for j := range endpoints {
		ready := true
		node := fmt.Sprintf("node%d", 1+(i*endpoints+j)%benchNodes)
		// generation shifts the endpoints so a changed Service gets new ones.
		ip := benchAddr(netip.MustParseAddr("10.212.0.2"), i*endpoints+j+generation*endpoints)
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{ip.String()}, NodeName: &node,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		})
	}
	return svc, es
}

// benchCluster returns the Services and EndpointSlices of s.
func benchCluster(s scale) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
	svcs := make([]*v1.Service, 0, s.services)
	slices := make([]*discoveryv1.EndpointSlice, 0, s.services)
	for i := range s.services {
		svc, es := benchService(i, s.endpoints, 0)
		svcs = append(svcs, svc)
		slices = append(slices, es)
	}
	return svcs, slices
}

// benchSnapshotConfig is the snapshot configuration of the benchmarks.
func benchSnapshotConfig() snapshot.Config {
	return snapshot.Config{
		NodeName:     benchNode,
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.212.0.0/14")},
		NodeIPs:      []netip.Addr{netip.MustParseAddr("10.210.0.11")},
	}
}

// fixture is a synthetic cluster rendered for benchNode.
type fixture struct {
	scale    scale
	services []*v1.Service
	slices   []*discoveryv1.EndpointSlice
	snap     *snapshot.Snapshot
	rules    *render.RuleSet
	full     []byte
	stats    render.Stats
}

// newFixture builds and renders the synthetic cluster s.
func newFixture(tb testing.TB, s scale) *fixture {
	tb.Helper()
	f := &fixture{scale: s}
	f.services, f.slices = benchCluster(s)
	snap, problems := snapshot.Build(benchSnapshotConfig(), f.services, f.slices)
	if len(problems) > 0 {
		tb.Fatalf("building snapshot: %v", problems)
	}
	if len(snap.Ports) != s.services {
		tb.Fatalf("snapshot has %d ports, want %d", len(snap.Ports), s.services)
	}
	f.snap = snap
	f.rules = render.Render(render.Config{}, snap)
	f.full, f.stats = render.WriteFull(f.rules, nil)
	return f
}

// changeLast returns the fixture's cluster with the last Service's
// endpoints replaced, its snapshot, and the changed port.
func (f *fixture) changeLast(tb testing.TB) (*snapshot.Snapshot, map[snapshot.ServicePortName]bool) {
	tb.Helper()
	last := f.scale.services - 1
	_, es := benchService(last, f.scale.endpoints, f.scale.services)
	slices := append(f.slices[:last:last], es)
	snap, problems := snapshot.Build(benchSnapshotConfig(), f.services, slices)
	if len(problems) > 0 {
		tb.Fatalf("building snapshot: %v", problems)
	}
	changed := snapshot.Changed(f.snap, snap)
	if len(changed) != 1 {
		tb.Fatalf("changing one Service changed %d ports", len(changed))
	}
	return snap, changed
}

// totals sums chains and rules over the tables of st.
func totals(st render.Stats) (chains, rules int) {
	for _, ts := range st {
		chains += ts.Chains
		rules += ts.Rules
	}
	return chains, rules
}

// restoreTool is the iptables-restore binary of backend.
func restoreTool(backend iptables.Backend) string {
	return "iptables-" + string(backend) + "-restore"
}

// childCPU returns the user plus system CPU time of this process's
// waited-for children so far.
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// restoreTime is the wall-clock and CPU time of one restore command.
type restoreTime struct {
	wall, cpu time.Duration
}

// bareRestore runs "iptables-BACKEND-restore --noflush" over data inside
// namespace ns and returns how long it took, on the clock and in CPU time
// (user plus system; the machine is shared, so wall-clock time includes
// waiting for a CPU).
func bareRestore(ctx context.Context, ns string, backend iptables.Backend, data []byte) (restoreTime, error) {
	cmd := exec.DefaultCmder.CommandContext(ctx, "ip", "netns", "exec", ns, restoreTool(backend), "--noflush")
	cmd.SetStdin(bytes.NewReader(data))
	var out bytes.Buffer
	cmd.SetStdout(&out)
	cmd.SetStderr(&out)
	cpu0, start := childCPU(), time.Now()
	err := cmd.Run()
	elapsed := restoreTime{wall: time.Since(start), cpu: childCPU() - cpu0}
	if err != nil {
		return elapsed, fmt.Errorf("restoring %d bytes with %s: %w: %s", len(data), restoreTool(backend), err, strings.TrimSpace(out.String()))
	}
	return elapsed, nil
}

// addNS and deleteNS create and delete a namespace outside any topology.
// addNS first removes the namespaces of test processes that are gone.
func addNS(ctx context.Context, ns string) error {
	if err := leftover.ReapNetNSOnce(ctx); err != nil {
		return err
	}
	if out, err := exec.Output(exec.DefaultCmder.CommandContext(ctx, "ip", "netns", "add", ns)); err != nil {
		return fmt.Errorf("creating namespace %s: %w: %s", ns, err, out)
	}
	return nil
}

func deleteNS(ctx context.Context, ns string) error {
	if out, err := exec.Output(exec.DefaultCmder.CommandContext(ctx, "ip", "netns", "delete", ns)); err != nil {
		return fmt.Errorf("deleting namespace %s: %w: %s", ns, err, out)
	}
	return nil
}
