package specs

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// etpLocal is the setup of the externalTrafficPolicy Local specs: one
// backend on the first worker, none on the second, a LoadBalancer Service
// with externalTrafficPolicy Local, and the control-plane node as the client.
type etpLocal struct {
	svc               *corev1.Service
	backend           *corev1.Pod
	withEP, withoutEP Node
	client            Node
}

func newETPLocal(ctx context.Context) etpLocal {
	GinkgoHelper()
	e := etpLocal{withEP: f.worker(0), withoutEP: f.worker(1), client: f.env.Nodes[0]}
	e.backend = f.backends(ctx, "local", 1, e.withEP)[0]
	// LoadBalancer, not NodePort: only a LoadBalancer Service with
	// externalTrafficPolicy Local gets a healthCheckNodePort. No load
	// balancer controller runs, so it is reached by its node ports.
	svc := workload.Service("", "local", corev1.ServiceTypeLoadBalancer, map[string]string{"app": "local"}, workload.HTTPServicePort(80))
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	e.svc = f.service(ctx, svc)
	f.involve(e.withoutEP.Name, e.client.Name)
	return e
}

func (e etpLocal) target(n Node) string { return hostPort(n.IP, e.svc.Spec.Ports[0].NodePort) }

var _ = Describe("externalTrafficPolicy Local", Label(LabelETPLocal), func() {
	It("lets the backend see the client's own address", func(ctx SpecContext) {
		e := newETPLocal(ctx)
		res := eventuallyAnswered(ctx, f.fromNode(e.client), probe.Request{Target: e.target(e.withEP), Protocol: probe.HTTP, Count: 3}, programBudget)
		Expect(res.Hostnames()).To(Equal([]string{e.backend.Name}))
		Expect(res.Clients()).To(Equal([]string{e.client.IP}), "the backend saw a rewritten source address")
	})

	It("does not answer on a node without a local endpoint", func(ctx SpecContext) {
		e := newETPLocal(ctx)
		By("waiting until the node with the endpoint answers")
		eventuallyAnswered(ctx, f.fromNode(e.client), probe.Request{Target: e.target(e.withEP), Protocol: probe.HTTP, Count: 2}, programBudget)

		By("probing the node without one")
		Consistently(ctx, func(g Gomega) {
			res := probeResult(ctx, g, f.fromNode(e.client), probe.Request{Target: e.target(e.withoutEP), Protocol: probe.HTTP, Count: 2, Timeout: time.Second})
			g.Expect(res.Count(probe.Answered)).To(BeZero(), "%s answered without a local endpoint: %s", e.withoutEP.Name, res)
		}).WithTimeout(6 * time.Second).WithPolling(2 * time.Second).Should(Succeed())
	})

	It("answers the health check node port 200 with a local endpoint and 503 without", func(ctx SpecContext) {
		e := newETPLocal(ctx)
		hc := e.svc.Spec.HealthCheckNodePort
		Expect(hc).NotTo(BeZero(), "no healthCheckNodePort allocated")
		for _, tc := range []struct {
			node Node
			code string
		}{{e.withEP, "200"}, {e.withoutEP, "503"}} {
			By(fmt.Sprintf("expecting %s from %s:%d", tc.code, tc.node.Name, hc))
			url := fmt.Sprintf("http://%s/", hostPort(tc.node.IP, hc))
			Eventually(ctx, func(g Gomega) {
				code, err := httpStatusFromNode(ctx, e.client, url)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(code).To(Equal(tc.code), "GET %s from %s", url, e.client.Name)
			}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
		}
	})
})

// httpStatusFromNode GETs url with curl on node and returns the status code.
func httpStatusFromNode(ctx context.Context, node Node, url string) (string, error) {
	out, err := nodeOutput(ctx, node, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", url)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}
