package specs

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

var _ = Describe("NodePort", Label(LabelNodePort), func() {
	It("is reachable on every node's address from every node", func(ctx SpecContext) {
		backends := f.backends(ctx, "np", 2)
		svc := f.service(ctx, workload.Service("", "np", corev1.ServiceTypeNodePort, map[string]string{"app": "np"}, workload.HTTPServicePort(80)))
		port := svc.Spec.Ports[0].NodePort
		Expect(port).NotTo(BeZero(), "no node port allocated")

		for _, from := range f.env.Nodes {
			for _, to := range f.env.Nodes {
				By(fmt.Sprintf("probing %s:%d from node %s", to.Name, port, from.Name))
				res := eventuallyAnswered(ctx, f.fromNode(from), probe.Request{Target: hostPort(to.IP, port), Protocol: probe.HTTP, Count: 2}, programBudget)
				Expect(podNames(backends)).To(ContainElements(res.Hostnames()))
			}
		}
	})

	It("honours a fixed nodePort", func(ctx SpecContext) {
		f.backends(ctx, "fixed", 1)
		// A port from the upper half of the range, varied by the random seed
		// so runs on a reused cluster do not collide; specs running beside
		// this one may hold it already, so a port the API refuses as
		// allocated is traded for the next one, a few times.
		fixed := f.env.NodePortMax - 1000 + int32(GinkgoRandomSeed()%900)
		var svc *corev1.Service
		for try := 0; ; try++ {
			sp := workload.HTTPServicePort(80)
			sp.NodePort = fixed
			s := workload.Service("", "fixed", corev1.ServiceTypeNodePort, map[string]string{"app": "fixed"}, sp)
			s.Namespace = f.ns
			var err error
			svc, err = workload.CreateService(ctx, f.env.Client, s)
			if err != nil && try < 5 && strings.Contains(err.Error(), "provided port is already allocated") {
				fixed++
				continue
			}
			Expect(err).NotTo(HaveOccurred())
			break
		}
		Expect(svc.Spec.Ports[0].NodePort).To(Equal(fixed))

		from, to := f.env.Nodes[0], f.worker(1)
		eventuallyAnswered(ctx, f.fromNode(from), probe.Request{Target: hostPort(to.IP, fixed), Protocol: probe.HTTP, Count: 2}, programBudget)
	})

	It("allocates the node port from the node-port range", func(ctx SpecContext) {
		svc := f.service(ctx, workload.Service("", "ranged", corev1.ServiceTypeNodePort, map[string]string{"app": "ranged"}, workload.HTTPServicePort(80)))
		Expect(svc.Spec.Ports[0].NodePort).To(SatisfyAll(
			BeNumerically(">=", f.env.NodePortMin), BeNumerically("<=", f.env.NodePortMax)),
			"node port outside %d-%d", f.env.NodePortMin, f.env.NodePortMax)
	})

	It("is also reachable by its ClusterIP", func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "both", 2)
		svc := f.service(ctx, workload.Service("", "both", corev1.ServiceTypeNodePort, map[string]string{"app": "both"}, workload.HTTPServicePort(80)))
		eventuallySeesAll(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)
	})
})
