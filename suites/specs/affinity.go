package specs

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// affinityBatch is how many requests a stickiness check sends. With three
// backends and no affinity, the chance that all of them land on one backend
// is 3^(1-affinityBatch): nil for practical purposes.
const affinityBatch = 20

// setAffinity switches ClientIP session affinity on (with timeout, or the
// default when 0) or off.
func setAffinity(s *corev1.Service, on bool, timeout int32) {
	if !on {
		s.Spec.SessionAffinity = corev1.ServiceAffinityNone
		s.Spec.SessionAffinityConfig = nil
		return
	}
	s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	if timeout > 0 {
		s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
	}
}

// affinityAccess is how the affinity specs reach their Service.
type affinityAccess struct {
	// nodePort makes the Service a NodePort one, reached through the
	// second worker's node port from the control-plane node; otherwise a
	// client pod on the first worker reaches the ClusterIP.
	nodePort bool
}

var (
	throughClusterIP = affinityAccess{}
	throughNodePort  = affinityAccess{nodePort: true}
)

// setup creates three backends (and the client pod, through the
// ClusterIP) and a Service "sticky" with affinity as given, and waits until
// the Service answers the client. It returns the client, a request of
// affinityBatch connections and the backends' names.
func (a affinityAccess) setup(ctx context.Context, on bool, timeout int32) (probe.Prober, probe.Request, []string) {
	GinkgoHelper()
	svcType := corev1.ServiceTypeClusterIP
	if a.nodePort {
		svcType = corev1.ServiceTypeNodePort
	}
	svc := workload.Service("", "sticky", svcType, map[string]string{"app": "sticky"}, workload.HTTPServicePort(80))
	setAffinity(svc, on, timeout)
	var (
		backends []*corev1.Pod
		client   probe.Prober
	)
	if a.nodePort {
		backends, client = f.backends(ctx, "sticky", 3), f.fromNode(f.env.Nodes[0])
	} else {
		backends, client = f.withClient(ctx, "sticky", 3)
	}
	svc = f.service(ctx, svc)
	target := hostPort(svc.Spec.ClusterIP, 80)
	if a.nodePort {
		target = hostPort(f.worker(1).IP, svc.Spec.Ports[0].NodePort)
	}
	Expect(workload.WaitReadyEndpoints(ctx, f.env.Client, f.ns, "sticky", 3, steadyBudget)).To(Succeed())
	req := probe.Request{Target: target, Protocol: probe.HTTP, Count: affinityBatch}
	eventuallyAnswered(ctx, client, req, programBudget)
	return client, req, podNames(backends)
}

// sticks asserts that one batch of req is answered by one backend alone,
// and returns it.
func sticks(ctx context.Context, g Gomega, client probe.Prober, req probe.Request, what string) probe.Result {
	res := probeResult(ctx, g, client, req)
	allAnswered(g, res, what)
	g.Expect(res.Hostnames()).To(HaveLen(1), "%s: requests spread over backends: %s", what, res)
	return res
}

// affinitySpecs are the session affinity specs, written once for every way
// of reaching the Service.
func affinitySpecs(a affinityAccess) {
	It("keeps sending a client to one backend", func(ctx SpecContext) {
		client, req, _ := a.setup(ctx, true, 0)
		first := sticks(ctx, Default, client, req, "first batch")
		second := sticks(ctx, Default, client, req, "second batch")
		Expect(second.Hostnames()).To(Equal(first.Hostnames()), "the client moved between batches")
	})

	It("takes effect when switched on and off", func(ctx SpecContext) {
		client, req, backends := a.setup(ctx, false, 0)
		By("spreading requests while affinity is off")
		eventuallySeesAll(ctx, client, req, backends, steadyBudget)

		By("switching affinity on")
		f.updateService(ctx, "sticky", func(s *corev1.Service) { setAffinity(s, true, 0) })
		Eventually(ctx, func(g Gomega) {
			sticks(ctx, g, client, req, "affinity on")
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())

		By("switching affinity off again")
		f.updateService(ctx, "sticky", func(s *corev1.Service) { setAffinity(s, false, 0) })
		Eventually(ctx, func(g Gomega) {
			res := probeResult(ctx, g, client, req)
			allAnswered(g, res, "affinity off")
			g.Expect(len(res.Hostnames())).To(BeNumerically(">", 1), "requests still stick: %s", res)
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
	})

	It("moves the client once timeoutSeconds passed", Label(LabelSlow), func(ctx SpecContext) {
		const timeout = 3
		client, req, _ := a.setup(ctx, true, timeout)
		first := sticks(ctx, Default, client, req, "first batch, within the timeout")

		By("probing once per timeout and a half until another backend answers")
		// Each probe comes after the affinity entry expired, so it picks a
		// backend at random: 2 in 3 it is another one.
		one := req
		one.Count = 1
		Eventually(ctx, func(g Gomega) {
			res := probeResult(ctx, g, client, one)
			allAnswered(g, res, "after the timeout")
			g.Expect(res.Hostnames()).NotTo(Equal(first.Hostnames()))
		}).WithTimeout(60 * time.Second).WithPolling(timeout * 1500 * time.Millisecond).Should(Succeed())
	})
}

var _ = Describe("session affinity ClientIP", Label(LabelAffinity), func() {
	affinitySpecs(throughClusterIP)
})

var _ = Describe("session affinity ClientIP through a node port", Label(LabelAffinity, LabelNodePort), func() {
	affinitySpecs(throughNodePort)
})
