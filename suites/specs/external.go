package specs

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// ExternalClient is a client outside the cluster: a container of
// svccheck's own on the cluster's network that is not a node, as a host on
// the nodes' network would be.
type ExternalClient struct {
	// Name is the container's name.
	Name string
	// IP is the container's address on the nodes' network.
	IP string
	// Prober probes from the container.
	Prober probe.Prober
}

// external returns the client outside the cluster, skipping the spec when
// the cluster cannot have one.
func (fx *fixture) external(ctx context.Context) *ExternalClient {
	GinkgoHelper()
	if fx.env.External == nil {
		reason := fx.env.NoExternal
		if reason == "" {
			reason = "the run set up none"
		}
		Skip("no client outside the cluster: " + reason)
	}
	c, err := fx.env.External(ctx)
	Expect(err).NotTo(HaveOccurred(), "starting the client outside the cluster")
	return c
}

var _ = Describe("From outside the cluster", Label(LabelExternal), func() {
	It("reaches a NodePort Service on every node, the backend seeing another address than the client's", Label(LabelNodePort), func(ctx SpecContext) {
		ext := f.external(ctx)
		backends := f.backends(ctx, "outside", 2)
		svc := f.service(ctx, workload.Service("", "outside", corev1.ServiceTypeNodePort, map[string]string{"app": "outside"}, workload.HTTPServicePort(80)))
		port := svc.Spec.Ports[0].NodePort
		for _, n := range f.env.Nodes {
			f.involve(n.Name)
			By(fmt.Sprintf("probing %s:%d from %s", n.Name, port, ext.Prober.Source()))
			res := eventuallyAnswered(ctx, ext.Prober, probe.Request{Target: hostPort(n.IP, port), Protocol: probe.HTTP, Count: 3}, programBudget)
			Expect(podNames(backends)).To(ContainElements(res.Hostnames()))
			Expect(res.Clients()).NotTo(ContainElement(ext.IP),
				"externalTrafficPolicy Cluster through %s: the backend saw the client's own address %s, not masqueraded", n.Name, ext.IP)
		}
	})

	It("reaches an externalTrafficPolicy Local Service only on the node with its endpoint, the backend seeing the client's own address", Label(LabelETPLocal), func(ctx SpecContext) {
		ext := f.external(ctx)
		e := newETPLocal(ctx)
		By(fmt.Sprintf("probing %s, which has the endpoint, from %s", e.withEP.Name, ext.Prober.Source()))
		res := eventuallyAnswered(ctx, ext.Prober, probe.Request{Target: e.target(e.withEP), Protocol: probe.HTTP, Count: 3}, programBudget)
		Expect(res.Hostnames()).To(Equal([]string{e.backend.Name}))
		Expect(res.Clients()).To(Equal([]string{ext.IP}), "the backend saw a rewritten source address, not the client's %s", ext.IP)

		var without []Node
		for _, n := range f.env.Nodes {
			if n.Name != e.withEP.Name {
				without = append(without, n)
			}
		}
		By(fmt.Sprintf("probing the %d nodes without a local endpoint", len(without)))
		Consistently(ctx, func(g Gomega) {
			for _, n := range without {
				res := probeResult(ctx, g, ext.Prober, probe.Request{Target: e.target(n), Protocol: probe.HTTP, Count: 2, Timeout: time.Second})
				g.Expect(res.Count(probe.Answered)).To(BeZero(), "%s answered without a local endpoint: %s", n.Name, res)
			}
		}).WithTimeout(5 * time.Second).WithPolling(2 * time.Second).Should(Succeed())
	})
})
