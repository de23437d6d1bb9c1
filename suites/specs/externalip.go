package specs

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// externalIP returns an address of TEST-NET-3 (203.0.113.0/24, RFC 5737),
// which no node owns and nothing routes: only the proxy's rules on a node
// make it answer. The random seed varies it, so runs on a reused cluster
// do not share one.
func externalIP() string {
	return fmt.Sprintf("203.0.113.%d", 10+GinkgoRandomSeed()%200)
}

var _ = Describe("ExternalIPs", Label(LabelExternalIP), func() {
	It("reach the Service through an external IP no node owns, from pods and from nodes", func(ctx SpecContext) {
		ip := externalIP()
		for _, n := range f.env.Nodes {
			out, err := nodeOutput(ctx, n, "ip", "-o", "addr", "show")
			Expect(err).NotTo(HaveOccurred())
			Expect(out).NotTo(ContainSubstring(" "+ip+"/"), "node %s owns %s", n.Name, ip)
		}
		backends, client := f.withClient(ctx, "ext", 2)
		svc := workload.Service("", "ext", corev1.ServiceTypeClusterIP, map[string]string{"app": "ext"}, workload.HTTPServicePort(80))
		svc.Spec.ExternalIPs = []string{ip}
		f.service(ctx, svc)
		req := probe.Request{Target: hostPort(ip, 80), Protocol: probe.HTTP, Count: 8}

		By("probing " + req.Target + " from " + client.Source())
		eventuallyOnly(ctx, client, req, podNames(backends), programBudget)
		for _, n := range []Node{f.env.Nodes[0], f.worker(1)} {
			By("probing " + req.Target + " from node " + n.Name)
			eventuallyOnly(ctx, f.fromNode(n), req, podNames(backends), programBudget)
		}
	})
})
