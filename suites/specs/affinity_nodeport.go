package specs

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // Ginkgo's DSL reads best dot-imported.
	. "github.com/onsi/gomega"    //nolint:revive // Gomega's DSL reads best dot-imported.
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// nodePortAffinitySetup creates three backends and a NodePort Service with
// affinity as given, and waits until the second worker's node port answers
// the control-plane node, which is the client.
func nodePortAffinitySetup(ctx context.Context, on bool, timeout int32) (probe.Prober, probe.Request, []string) {
	GinkgoHelper()
	backends := f.backends(ctx, "sticky", 3)
	svc := workload.Service("", "sticky", corev1.ServiceTypeNodePort, map[string]string{"app": "sticky"}, workload.HTTPServicePort(80))
	setAffinity(svc, on, timeout)
	svc = f.service(ctx, svc)
	Expect(workload.WaitReadyEndpoints(ctx, f.env.Client, f.ns, "sticky", 3, steadyBudget)).To(Succeed())
	client := f.fromNode(f.env.Nodes[0])
	req := probe.Request{Target: hostPort(f.worker(1).IP, svc.Spec.Ports[0].NodePort), Protocol: probe.HTTP, Count: affinityBatch}
	eventuallyAnswered(ctx, client, req, programBudget)
	return client, req, podNames(backends)
}

// eventuallySticks waits until a batch of req is answered by one backend
// alone.
func eventuallySticks(ctx context.Context, client probe.Prober, req probe.Request, budget time.Duration) probe.Result {
	GinkgoHelper()
	var res probe.Result
	Eventually(ctx, func(g Gomega) {
		res = probeResult(ctx, g, client, req)
		allAnswered(g, res, "affinity on")
		g.Expect(res.Hostnames()).To(HaveLen(1), "requests spread over backends: %s", res)
	}).WithTimeout(budget).WithPolling(poll).Should(Succeed())
	return res
}

var _ = Describe("session affinity ClientIP through a node port", Label(LabelAffinity, LabelNodePort), func() {
	It("keeps sending a client to one backend", func(ctx SpecContext) {
		client, req, _ := nodePortAffinitySetup(ctx, true, 0)
		first := eventuallySticks(ctx, client, req, steadyBudget)
		second := probeResult(ctx, Default, client, req)
		allAnswered(Default, second, "second batch")
		Expect(second.Hostnames()).To(Equal(first.Hostnames()), "the client moved between batches")
	})

	It("takes effect when switched on and off", func(ctx SpecContext) {
		client, req, backends := nodePortAffinitySetup(ctx, false, 0)
		By("spreading requests while affinity is off")
		eventuallySeesAll(ctx, client, req, backends, steadyBudget)

		By("switching affinity on")
		f.updateService(ctx, "sticky", func(s *corev1.Service) { setAffinity(s, true, 0) })
		eventuallySticks(ctx, client, req, programBudget)

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
		client, req, _ := nodePortAffinitySetup(ctx, true, timeout)
		first := eventuallySticks(ctx, client, req, steadyBudget)

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
})
