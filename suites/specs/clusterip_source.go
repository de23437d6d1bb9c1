package specs

import (
	"maps"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

var _ = Describe("ClusterIP", Label(LabelClusterIP), func() {
	It("shows every backend the client pod's own address", func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "src", 2)
		pod, err := f.env.Client.CoreV1().Pods(f.ns).Get(ctx, client.Pod, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		svc := f.service(ctx, workload.Service("", "src", corev1.ServiceTypeClusterIP, map[string]string{"app": "src"}, workload.HTTPServicePort(80)))
		req := probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}

		By("probing until both backends, on the client's node and on the other, answered " + pod.Status.PodIP)
		seen := map[string]bool{}
		Eventually(ctx, func(g Gomega) {
			res := probeResult(ctx, g, client, req)
			allAnswered(g, res, req.Target)
			g.Expect(res.Clients()).To(Equal([]string{pod.Status.PodIP}), "backends saw another source than the client pod %s: %v", pod.Status.PodIP, res.Clients())
			for _, h := range res.Hostnames() {
				seen[h] = true
			}
			g.Expect(slices.Sorted(maps.Keys(seen))).To(ConsistOf(podNames(backends)), "last batch: %s", res)
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
	})
})
