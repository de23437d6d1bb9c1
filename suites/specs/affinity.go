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

// affinitySetup creates three backends, a client pod and a ClusterIP Service
// with affinity as given, and waits until the Service answers.
func affinitySetup(ctx context.Context, on bool, timeout int32) (probe.Prober, probe.Request, []string) {
	GinkgoHelper()
	backends, client := f.withClient(ctx, "sticky", 3)
	svc := workload.Service("", "sticky", corev1.ServiceTypeClusterIP, map[string]string{"app": "sticky"}, workload.HTTPServicePort(80))
	setAffinity(svc, on, timeout)
	svc = f.service(ctx, svc)
	Expect(workload.WaitReadyEndpoints(ctx, f.env.Client, f.ns, "sticky", 3, steadyBudget)).To(Succeed())
	req := probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: affinityBatch}
	eventuallyAnswered(ctx, client, req, programBudget)
	return client, req, podNames(backends)
}

var _ = Describe("session affinity ClientIP", Label(LabelAffinity), func() {
	It("keeps sending a client to one backend", func(ctx SpecContext) {
		client, req, _ := affinitySetup(ctx, true, 0)
		first := probeResult(ctx, Default, client, req)
		allAnswered(Default, first, "first batch")
		Expect(first.Hostnames()).To(HaveLen(1), "requests spread over backends: %s", first)
		second := probeResult(ctx, Default, client, req)
		allAnswered(Default, second, "second batch")
		Expect(second.Hostnames()).To(Equal(first.Hostnames()), "the client moved between batches")
	})

	It("takes effect when switched on and off", func(ctx SpecContext) {
		client, req, backends := affinitySetup(ctx, false, 0)
		By("spreading requests while affinity is off")
		eventuallySeesAll(ctx, client, req, backends, steadyBudget)

		By("switching affinity on")
		f.updateService(ctx, "sticky", func(s *corev1.Service) { setAffinity(s, true, 0) })
		Eventually(ctx, func(g Gomega) {
			res := probeResult(ctx, g, client, req)
			allAnswered(g, res, "affinity on")
			g.Expect(res.Hostnames()).To(HaveLen(1), "requests still spread: %s", res)
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
		client, req, _ := affinitySetup(ctx, true, timeout)
		first := probeResult(ctx, Default, client, req)
		allAnswered(Default, first, "first batch")
		Expect(first.Hostnames()).To(HaveLen(1), "requests spread over backends within the timeout: %s", first)

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
