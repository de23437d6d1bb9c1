package specs

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// externalTarget is the name ExternalName Services point at in the type
// change specs; nothing resolves it, and no spec needs it to.
const externalTarget = "svccheck.invalid"

// toExternalName turns a Service into an ExternalName one, clearing what
// only proxied Services carry.
func toExternalName(s *corev1.Service) {
	s.Spec.Type = corev1.ServiceTypeExternalName
	s.Spec.ExternalName = externalTarget
	s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
	s.Spec.IPFamilies, s.Spec.IPFamilyPolicy = nil, nil
	s.Spec.ExternalTrafficPolicy, s.Spec.InternalTrafficPolicy = "", nil
	for i := range s.Spec.Ports {
		s.Spec.Ports[i].NodePort = 0
	}
}

// toType turns an ExternalName Service into one of type typ; the API
// server allocates its ClusterIP and node ports.
func toType(typ corev1.ServiceType) func(*corev1.Service) {
	return func(s *corev1.Service) {
		s.Spec.Type = typ
		s.Spec.ExternalName = ""
	}
}

var _ = Describe("Service type changes", func() {
	It("moves from ClusterIP to ExternalName and back, rules and traffic following", Label(LabelClusterIP, LabelRules), func(ctx SpecContext) {
		skipUnlessRulesReadable()
		backends, client := f.withClient(ctx, "tc", 2)
		svc := f.service(ctx, workload.Service("", "tc", corev1.ServiceTypeClusterIP, map[string]string{"app": "tc"}, workload.HTTPServicePort(80)))
		old := hostPort(svc.Spec.ClusterIP, 80)
		eventuallySeesAll(ctx, client, probe.Request{Target: old, Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)
		expectRules(ctx, []string{"tc"}, nil, programBudget)

		By("turning it into an ExternalName Service: its rules go from every node")
		f.updateService(ctx, "tc", toExternalName)
		expectRules(ctx, nil, []string{"tc"}, programBudget)
		eventuallyUnanswered(ctx, client, probe.Request{Target: old, Protocol: probe.TCP, Count: 2}, steadyBudget)

		By("turning it back into a ClusterIP Service: it gets a ClusterIP, rules and traffic again")
		back := f.updateService(ctx, "tc", toType(corev1.ServiceTypeClusterIP))
		Expect(back.Spec.ClusterIP).NotTo(BeEmpty(), "no ClusterIP allocated")
		expectRules(ctx, []string{"tc"}, nil, programBudget)
		eventuallySeesAll(ctx, client, probe.Request{Target: hostPort(back.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)
	})

	It("moves from ExternalName to NodePort and back, rules and node port traffic following", Label(LabelNodePort, LabelRules), func(ctx SpecContext) {
		skipUnlessRulesReadable()
		backends := f.backends(ctx, "tn", 2)
		f.service(ctx, workload.Service("", "tn-control", corev1.ServiceTypeClusterIP, map[string]string{"app": "tn"}, workload.HTTPServicePort(80)))
		en := workload.Service("", "tn", corev1.ServiceTypeExternalName, map[string]string{"app": "tn"}, workload.HTTPServicePort(80))
		en.Spec.ExternalName = externalTarget
		f.service(ctx, en)
		By("checking every node holds no rules for the ExternalName Service")
		expectRules(ctx, []string{"tn-control"}, []string{"tn"}, programBudget)

		By("turning it into a NodePort Service")
		np := f.updateService(ctx, "tn", toType(corev1.ServiceTypeNodePort))
		port := np.Spec.Ports[0].NodePort
		Expect(port).NotTo(BeZero(), "no node port allocated")
		expectRules(ctx, []string{"tn"}, nil, programBudget)
		from := f.env.Nodes[0]
		for _, to := range f.env.workers() {
			By(fmt.Sprintf("probing %s:%d from %s", to.Name, port, from.Name))
			res := eventuallyAnswered(ctx, f.fromNode(from), probe.Request{Target: hostPort(to.IP, port), Protocol: probe.HTTP, Count: 2}, programBudget)
			Expect(podNames(backends)).To(ContainElements(res.Hostnames()))
		}

		By("turning it back into an ExternalName Service: rules and node port go")
		f.updateService(ctx, "tn", toExternalName)
		expectRules(ctx, nil, []string{"tn"}, programBudget)
		for _, to := range f.env.workers() {
			eventuallyUnanswered(ctx, f.fromNode(from), probe.Request{Target: hostPort(to.IP, port), Protocol: probe.TCP, Count: 2}, steadyBudget)
		}
	})
})
