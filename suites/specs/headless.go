package specs

import (
	"context"
	"encoding/json"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/suites/agent"
	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// headlessService returns a headless Service selecting app=app.
func headlessService(name, app string) *corev1.Service {
	svc := workload.Service("", name, corev1.ServiceTypeClusterIP, map[string]string{"app": app}, workload.HTTPServicePort(80))
	svc.Spec.ClusterIP = corev1.ClusterIPNone
	return svc
}

// natRules returns the NAT rules of node as the cluster's proxy writes them.
func natRules(ctx context.Context, node Node) (string, error) {
	switch mode := f.env.Proxy.Mode; {
	case mode.IPTables():
		return nodeOutput(ctx, node, "iptables-save", "-t", "nat")
	case mode.NFTables():
		return nodeOutput(ctx, node, "nft", "list", "table", "ip", "kube-proxy")
	}
	return "", fmt.Errorf("reading the rules of proxy %q is not supported", f.env.Proxy.Mode)
}

// chainPrefix returns the prefix of the cluster's proxy's iptables chains,
// or "" when the proxy does not program iptables.
func chainPrefix() string {
	switch f.env.Proxy.Mode {
	case proxy.Svccheck:
		return "SVCCHK-"
	case proxy.KubeProxy:
		return "KUBE-"
	}
	return ""
}

var _ = Describe("Headless", Label(LabelHeadless), func() {
	It("gets no ClusterIP", func(ctx SpecContext) {
		svc := f.service(ctx, headlessService("headless", "headless"))
		Expect(svc.Spec.ClusterIP).To(Equal(corev1.ClusterIPNone))
		Expect(svc.Spec.ClusterIPs).To(Equal([]string{corev1.ClusterIPNone}))
	})

	It("gets no proxy rules on any node", Label(LabelRules), func(ctx SpecContext) {
		if f.env.Proxy.Mode == proxy.KubeProxyIPVS {
			Skip("ipvs mode keeps Services in IPVS, not in rules this spec reads")
		}
		skipUnlessRulesReadable()
		f.backends(ctx, "hl", 2)
		f.service(ctx, headlessService("headless", "hl"))
		f.service(ctx, workload.Service("", "control", corev1.ServiceTypeClusterIP, map[string]string{"app": "hl"}, workload.HTTPServicePort(80)))
		control, headless := f.ns+"/control", f.ns+"/headless"

		for _, node := range f.env.Nodes {
			f.involve(node.Name)
			By("reading the rules of " + node.Name + " once they hold the control Service " + control)
			var rules string
			Eventually(ctx, func(g Gomega) {
				var err error
				rules, err = natRules(ctx, node)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(rules).To(ContainSubstring(control), "the proxy has not synced the control Service yet")
			}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
			Expect(rules).NotTo(ContainSubstring(headless), "node %s has rules for the headless Service", node.Name)
		}
	})

	It("resolves to one A record per ready pod", Label(LabelDNS), func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "dns", 3)
		f.service(ctx, headlessService("headless", "dns"))
		want := make([]string, len(backends))
		for i, p := range backends {
			want[i] = p.Status.PodIP
		}
		name := fmt.Sprintf("headless.%s.svc.cluster.local.", f.ns)

		Eventually(ctx, func(g Gomega) {
			rep := lookupFromPod(ctx, g, client, name)
			g.Expect(rep.Error).To(BeEmpty(), "resolving %s", name)
			g.Expect(rep.Addresses).To(ConsistOf(want), "A records of %s", name)
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())

		By("removing one pod: its record goes")
		Expect(workload.DeletePod(ctx, f.env.Client, f.ns, backends[0].Name)).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			rep := lookupFromPod(ctx, g, client, name)
			g.Expect(rep.Addresses).To(ConsistOf(want[1:]), "A records of %s", name)
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
	})
})

// lookupFromPod resolves name with `svccheck agent dns` in the client pod.
func lookupFromPod(ctx context.Context, g Gomega, p *probe.PodProber, name string) agent.DNSReport {
	stdout, stderr, err := probe.PodExec(ctx, p.Config, p.Client, p.Namespace, p.Pod, p.Container,
		[]string{probe.Binary, "agent", "dns", "--name", name, "--json"})
	g.Expect(err).NotTo(HaveOccurred(), "stderr: %s", stderr)
	var rep agent.DNSReport
	g.Expect(json.Unmarshal(stdout, &rep)).To(Succeed(), "output: %s", stdout)
	return rep
}
