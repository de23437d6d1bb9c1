package specs

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
)

// setETP sets the externalTrafficPolicy of the Service etp and returns it
// as stored.
func setETP(ctx context.Context, policy corev1.ServiceExternalTrafficPolicy) *corev1.Service {
	GinkgoHelper()
	By("switching externalTrafficPolicy to " + string(policy))
	return f.updateService(ctx, "local", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = policy })
}

// expectClusterPolicy checks the behaviour of externalTrafficPolicy
// Cluster: no health check node port, and the node without an endpoint
// answers with the client's address rewritten.
func expectClusterPolicy(ctx context.Context, e etpLocal, svc *corev1.Service) {
	GinkgoHelper()
	Expect(svc.Spec.HealthCheckNodePort).To(BeZero(), "a healthCheckNodePort is allocated under policy Cluster")
	res := eventuallyAnswered(ctx, f.fromNode(e.client), probe.Request{Target: e.target(e.withoutEP), Protocol: probe.HTTP, Count: 3}, programBudget)
	Expect(res.Hostnames()).To(Equal([]string{e.backend.Name}))
	Expect(res.Clients()).NotTo(ContainElement(e.client.IP), "the backend saw the client's own address through a node without an endpoint")
}

var _ = Describe("externalTrafficPolicy changes", Label(LabelETPLocal), func() {
	It("follows switches between Cluster and Local on a live Service, allocating and releasing the health check node port", func(ctx SpecContext) {
		e := newETPLocal(ctx)
		svc := setETP(ctx, corev1.ServiceExternalTrafficPolicyCluster)
		e.svc = svc
		expectClusterPolicy(ctx, e, svc)

		svc = setETP(ctx, corev1.ServiceExternalTrafficPolicyLocal)
		e.svc = svc
		hc := svc.Spec.HealthCheckNodePort
		Expect(hc).NotTo(BeZero(), "no healthCheckNodePort allocated under policy Local")
		hcURL := func(n Node) string { return fmt.Sprintf("http://%s/", hostPort(n.IP, hc)) }
		eventuallyHealthCheck(ctx, e.client, hcURL(e.withEP), "200")
		eventuallyHealthCheck(ctx, e.client, hcURL(e.withoutEP), "503")
		res := eventuallyAnswered(ctx, f.fromNode(e.client), probe.Request{Target: e.target(e.withEP), Protocol: probe.HTTP, Count: 3}, programBudget)
		Expect(res.Clients()).To(Equal([]string{e.client.IP}), "the backend saw a rewritten source address under policy Local")
		By("checking " + e.withoutEP.Name + " stops answering")
		noAnswer := func(g Gomega) {
			res := probeResult(ctx, g, f.fromNode(e.client), probe.Request{Target: e.target(e.withoutEP), Protocol: probe.HTTP, Count: 2, Timeout: time.Second})
			g.Expect(res.Count(probe.Answered)).To(BeZero(), "%s answered without a local endpoint: %s", e.withoutEP.Name, res)
		}
		Eventually(ctx, noAnswer).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
		Consistently(ctx, noAnswer).WithTimeout(4 * time.Second).WithPolling(time.Second).Should(Succeed())

		svc = setETP(ctx, corev1.ServiceExternalTrafficPolicyCluster)
		e.svc = svc
		expectClusterPolicy(ctx, e, svc)
		By(fmt.Sprintf("checking the released health check node port %d no longer answers", hc))
		for _, n := range []Node{e.withEP, e.withoutEP} {
			Eventually(ctx, func(g Gomega) {
				code, err := httpStatusFromNode(ctx, e.client, hcURL(n))
				g.Expect(err).To(HaveOccurred(), "GET %s still answers %s", hcURL(n), code)
			}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
		}
	})
})
