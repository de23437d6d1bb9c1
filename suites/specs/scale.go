package specs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/workload"
)

// The Scale spec's backends: every Service selects one set of them, so the
// cost of the burst is Services and EndpointSlices, not pods.
const (
	scaleBackendsA = "scale-a"
	scaleBackendsB = "scale-b"
	// scaleInterval is the time between two probes of a pending Service
	// from one node: the resolution of the figures.
	scaleInterval = 250 * time.Millisecond
	// scaleAttemptTimeout bounds each probe. A Service not programmed yet
	// drops the connection (the packet leaves the node and meets the
	// host's fence): a short timeout keeps the next attempt near; every
	// pending Service is probed at once (no cap on attempts in flight), so
	// timeouts do not delay the others.
	scaleAttemptTimeout = 500 * time.Millisecond
	// scaleWriters bounds the API writes in flight.
	scaleWriters = 16
	// scaleSample is one in how many Services change endpoints in the
	// second phase.
	scaleSample = 10
)

// scaleBudget is how long a node has to answer every Service of a phase.
func scaleBudget(n int) time.Duration {
	return 90*time.Second + time.Duration(n)*100*time.Millisecond
}

var _ = Describe("Network programming latency", Label(LabelScale), func() {
	It("answers a burst of new Services, then endpoint changes, from a pod on every node", func(ctx SpecContext) {
		n := f.env.Scale
		if n <= 0 {
			Skip("measured only with svccheck run --scale N")
		}
		budget := scaleBudget(n)
		nodes := f.env.Nodes
		cs := f.scaleClient()
		f.create(ctx, f.scalePods(nodes)...)
		DeferCleanup(deleteScaleServices, cs, f.ns, n, NodeTimeout(3*time.Minute))
		watch := watchSlices(ctx, cs, f.ns)
		before := scrapeMetrics(ctx, nodes, f.env.Proxy.Mode)
		rep := reports.ScaleReport{Services: n, ProxyMode: f.env.Proxy.Mode, Budget: reports.Duration(budget), Interval: reports.Duration(scaleInterval)}

		By(fmt.Sprintf("creating %d Services selecting %s", n, scaleBackendsA))
		var (
			mu      sync.Mutex
			created = map[string]string{} // Service name -> target
		)
		rep.Phases = append(rep.Phases, f.scalePhase(ctx, "create", scaleBackendsA, budget, watch, func(send func(svc, target string)) {
			forEach(n, func(i int) {
				svc, err := cs.CoreV1().Services(f.ns).Create(ctx, scaleService(f.ns, i), metav1.CreateOptions{})
				if err != nil {
					fmt.Fprintf(GinkgoWriter, "creating Service %d: %v\n", i, err)
					return
				}
				target := hostPort(svc.Spec.ClusterIP, 80)
				mu.Lock()
				created[svc.Name] = target
				mu.Unlock()
				send(svc.Name, target)
			})
		}))
		Expect(created).To(HaveLen(n), "Services created")

		sample := make([]string, 0, n/scaleSample+1)
		for i := 0; i < n; i += scaleSample {
			sample = append(sample, scaleName(i))
		}
		By(fmt.Sprintf("switching %d of them to %s", len(sample), scaleBackendsB))
		patch := []byte(`{"spec":{"selector":{"app":"` + scaleBackendsB + `"}}}`)
		rep.Phases = append(rep.Phases, f.scalePhase(ctx, "endpoint change", scaleBackendsB, budget, watch, func(send func(svc, target string)) {
			for _, name := range sample {
				send(name, created[name])
			}
			forEach(len(sample), func(i int) {
				if _, err := cs.CoreV1().Services(f.ns).Patch(ctx, sample[i], types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
					fmt.Fprintf(GinkgoWriter, "switching Service %s: %v\n", sample[i], err)
				}
			})
		}))
		rep.Metrics = metricDeltas(before, scrapeMetrics(ctx, nodes, f.env.Proxy.Mode))

		js, err := json.Marshal(rep)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry(reports.ScaleEntry, string(js))
		for _, p := range rep.Phases {
			Expect(p.All.Count).To(BeNumerically(">", 0), "no Service answered in phase %q", p.Name)
		}
	})
})

// scaleClient is a client of the API server allowed the write rate of a
// burst; the shared one's client-side limit would pace it instead.
func (fx *fixture) scaleClient() kubernetes.Interface {
	GinkgoHelper()
	cfg := rest.CopyConfig(fx.env.Config)
	cfg.QPS, cfg.Burst = 500, 500
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	return cs
}

// scalePods are the Scale spec's pods: three backends of set A and two of
// set B on the workers, and a client on every node.
func (fx *fixture) scalePods(nodes []Node) []workload.Pod {
	ws := fx.env.workers()
	var pods []workload.Pod
	for set, count := range map[string]int{scaleBackendsA: 3, scaleBackendsB: 2} {
		for i := range count {
			pods = append(pods, workload.Pod{Name: fmt.Sprintf("%s-%d", set, i), Node: ws[i%len(ws)].Name, Labels: map[string]string{"app": set}})
		}
	}
	for i, n := range nodes {
		fx.involve(n.Name)
		pods = append(pods, workload.Pod{Name: scaleClientName(i), Node: n.Name, Labels: map[string]string{"role": "client"}})
	}
	return pods
}

func scaleClientName(i int) string { return "client-" + strconv.Itoa(i) }

func scaleName(i int) string { return fmt.Sprintf("scale-%05d", i) }

// scaleService is the i-th Service of the burst: port 80 to the agents'
// HTTP port on backend set A.
func scaleService(ns string, i int) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: scaleName(i), Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": scaleBackendsA},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(workload.HTTPPort), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// deleteScaleServices deletes the burst's Services at the rate they were
// made, rather than at the namespace controller's, and waits until they are
// gone, so the next run measures a proxy that is not still removing them.
func deleteScaleServices(ctx SpecContext, cs kubernetes.Interface, ns string, n int) {
	forEach(n, func(i int) {
		err := cs.CoreV1().Services(ns).Delete(ctx, scaleName(i), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			fmt.Fprintf(GinkgoWriter, "deleting Service %s: %v\n", scaleName(i), err)
		}
	})
	Eventually(ctx, func(g Gomega) {
		list, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(list.Items).To(BeEmpty())
	}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
}

// forEach calls do(0..n-1), scaleWriters at a time.
func forEach(n int, do func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(scaleWriters, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
