package specs

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// Budgets of the checks: how long a spec waits for the cluster to converge.
const (
	// programBudget bounds how long a Service change may take to reach
	// every node's rules and answer probes.
	programBudget = 45 * time.Second
	// steadyBudget bounds checks of behaviour that is already programmed.
	steadyBudget = 20 * time.Second
	// poll is the polling interval of Eventually.
	poll = 500 * time.Millisecond
	// attemptTimeout bounds each probe attempt.
	attemptTimeout = 2 * time.Second
)

// fixture is the per-spec state: the spec's namespace and the nodes it used.
type fixture struct {
	env *Env
	ns  string

	mu    sync.Mutex
	nodes map[string]bool
}

// f is the running spec's fixture; specs run one at a time in a process.
var f *fixture

var _ = BeforeEach(func(ctx SpecContext) {
	f = nil
	e := theEnv()
	Expect(e).NotTo(BeNil(), "the spec environment is not set (specs.SetEnv)")
	ns, err := workload.CreateNamespace(ctx, e.Client, "svcchk", e.Labels)
	Expect(err).NotTo(HaveOccurred())
	f = &fixture{env: e, ns: ns, nodes: map[string]bool{}}
	fx := f
	DeferCleanup(func(ctx SpecContext) {
		Expect(workload.DeleteNamespace(ctx, fx.env.Client, fx.ns)).To(Succeed())
	}, NodeTimeout(30*time.Second))
})

// AfterEach runs before the DeferCleanup of BeforeEach, so the spec's
// namespace still exists for its dump.
var _ = AfterEach(func(ctx SpecContext) {
	if f == nil {
		return
	}
	AddReportEntry(reports.NodesEntry, reports.Nodes(f.nodeNames()), ReportEntryVisibilityFailureOrVerbose)
	for _, e := range f.collect(ctx, CurrentSpecReport()) {
		AddReportEntry(e.name, e.value)
	}
}, NodeTimeout(2*time.Minute))

// reportEntry is a report entry for the running spec.
type reportEntry struct {
	name  string
	value any
}

// collect dumps the diagnostics of the spec that just ran (report) through
// env.Failures: every node, when the spec failed, then the objects of its
// namespace, pass or fail. It returns the report entries to record: the
// failure dumps' directories and what could not be dumped.
func (fx *fixture) collect(ctx context.Context, report types.SpecReport) []reportEntry {
	fc := fx.env.Failures
	if fc == nil {
		return nil
	}
	var entries []reportEntry
	if report.Failed() {
		dirs, err := fc.CollectFailure(ctx, reports.Slug(report.FullText()))
		entries = append(entries, reportEntry{reports.DumpsEntry, reports.Dumps(dirs)})
		if err != nil {
			entries = append(entries, reportEntry{"failure-dump-error", err.Error()})
		}
	}
	if err := fc.CollectNamespace(ctx, fx.ns); err != nil {
		entries = append(entries, reportEntry{"namespace-dump-error", err.Error()})
	}
	return entries
}

// involve records nodes as involved in the spec.
func (fx *fixture) involve(nodes ...string) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	for _, n := range nodes {
		if n != "" {
			fx.nodes[n] = true
		}
	}
}

func (fx *fixture) nodeNames() []string {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return slices.Sorted(maps.Keys(fx.nodes))
}

// worker returns the i-th worker node.
func (fx *fixture) worker(i int) Node {
	ws := fx.env.workers()
	Expect(len(ws)).To(BeNumerically(">", i), "the cluster has %d workers", len(ws))
	return ws[i]
}

// backends creates n agent pods named prefix-0..n-1 labelled app=prefix,
// spread over nodes in turn (default: the workers), and waits until they are
// Ready.
func (fx *fixture) backends(ctx context.Context, prefix string, n int, nodes ...Node) []*corev1.Pod {
	GinkgoHelper()
	return fx.create(ctx, fx.backendPods(prefix, n, nodes)...)
}

// withClient creates n backends as backends does and a client pod named
// "client" on the first worker, all at once, and returns the backends and
// the client's prober.
func (fx *fixture) withClient(ctx context.Context, prefix string, n int) ([]*corev1.Pod, *probe.PodProber) {
	GinkgoHelper()
	node := fx.worker(0)
	fx.involve(node.Name)
	pods := append(fx.backendPods(prefix, n, nil), workload.Pod{Name: "client", Node: node.Name, Labels: map[string]string{"role": "client"}})
	out := fx.create(ctx, pods...)
	return out[:n], fx.podProber("client")
}

// clientPod creates an agent pod on node to probe from and returns its prober.
func (fx *fixture) clientPod(ctx context.Context, name string, node Node) *probe.PodProber {
	GinkgoHelper()
	fx.involve(node.Name)
	fx.create(ctx, workload.Pod{Name: name, Node: node.Name, Labels: map[string]string{"role": "client"}})
	return fx.podProber(name)
}

func (fx *fixture) backendPods(prefix string, n int, nodes []Node) []workload.Pod {
	if len(nodes) == 0 {
		nodes = fx.env.workers()
	}
	pods := make([]workload.Pod, n)
	for i := range pods {
		node := nodes[i%len(nodes)]
		pods[i] = workload.Pod{Name: fmt.Sprintf("%s-%d", prefix, i), Node: node.Name, Labels: map[string]string{"app": prefix}}
		fx.involve(node.Name)
	}
	return pods
}

// create creates agent pods in the spec's namespace and waits until they are
// Ready.
func (fx *fixture) create(ctx context.Context, pods ...workload.Pod) []*corev1.Pod {
	GinkgoHelper()
	out, err := workload.CreatePods(ctx, fx.env.Client, fx.ns, fx.env.Image, fx.env.PodTimeout, pods...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// podProber probes from an existing pod of the spec's namespace.
func (fx *fixture) podProber(pod string) *probe.PodProber {
	return &probe.PodProber{Config: fx.env.Config, Client: fx.env.Client, Namespace: fx.ns, Pod: pod, Container: "agent"}
}

// fromNode probes from inside node.
func (fx *fixture) fromNode(node Node) *probe.NodeProber {
	fx.involve(node.Name)
	return &probe.NodeProber{Name: node.Name, Cmder: node.Cmder}
}

// service creates svc in the spec's namespace and returns it as stored.
func (fx *fixture) service(ctx context.Context, svc *corev1.Service) *corev1.Service {
	GinkgoHelper()
	svc.Namespace = fx.ns
	out, err := workload.CreateService(ctx, fx.env.Client, svc)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// updateService changes a Service of the spec's namespace.
func (fx *fixture) updateService(ctx context.Context, name string, mutate func(*corev1.Service)) *corev1.Service {
	GinkgoHelper()
	out, err := workload.UpdateService(ctx, fx.env.Client, fx.ns, name, mutate)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// probeResult runs one probe and fails the Gomega g on a probe that could
// not run at all.
func probeResult(ctx context.Context, g Gomega, p probe.Prober, req probe.Request) probe.Result {
	if req.Timeout == 0 {
		req.Timeout = attemptTimeout
	}
	res, err := p.Probe(ctx, req)
	g.Expect(err).NotTo(HaveOccurred(), "probing %s from %s", req.Target, p.Source())
	return res
}

// allAnswered asserts that every attempt of res was answered.
func allAnswered(g Gomega, res probe.Result, what string) {
	g.Expect(res.Count(probe.Answered)).To(Equal(len(res)), "%s: %s", what, res)
	g.Expect(res).NotTo(BeEmpty(), "%s: no attempts", what)
}

// eventuallyAnswered waits until a probe batch is answered in full, and
// returns that batch.
func eventuallyAnswered(ctx context.Context, p probe.Prober, req probe.Request, budget time.Duration) probe.Result {
	GinkgoHelper()
	var last probe.Result
	Eventually(ctx, func(g Gomega) {
		last = probeResult(ctx, g, p, req)
		allAnswered(g, last, fmt.Sprintf("%s %s from %s", req.Protocol, req.Target, p.Source()))
	}).WithTimeout(budget).WithPolling(poll).Should(Succeed())
	return last
}

// eventuallySeesAll keeps probing until every hostname of want answered at
// least once, counting answers across batches.
func eventuallySeesAll(ctx context.Context, p probe.Prober, req probe.Request, want []string, budget time.Duration) {
	GinkgoHelper()
	seen := map[string]bool{}
	Eventually(ctx, func(g Gomega) {
		res := probeResult(ctx, g, p, req)
		for _, h := range res.Hostnames() {
			seen[h] = true
		}
		g.Expect(slices.Sorted(maps.Keys(seen))).To(ConsistOf(want), "%s %s from %s, last batch: %s", req.Protocol, req.Target, p.Source(), res)
	}).WithTimeout(budget).WithPolling(poll).Should(Succeed())
}

// podNames returns the names of pods.
func podNames(pods []*corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

// hostPort joins an address and a port.
func hostPort(host string, port int32) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// extraBackend adds one backend pod labelled app=app on node and waits until
// it is Ready.
func (fx *fixture) extraBackend(ctx context.Context, app, name string, node Node) *corev1.Pod {
	GinkgoHelper()
	fx.involve(node.Name)
	return fx.create(ctx, workload.Pod{Name: name, Node: node.Name, Labels: map[string]string{"app": app}})[0]
}
