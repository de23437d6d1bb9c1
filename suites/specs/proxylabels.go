package specs

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // Ginkgo's DSL reads best dot-imported.
	. "github.com/onsi/gomega"    //nolint:revive // Gomega's DSL reads best dot-imported.
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// Labels that take a Service away from the cluster's proxy.
const (
	// labelServiceProxyName hands a Service to another proxy, whatever its
	// value.
	labelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	// labelHeadless marks a Service headless for the proxies, ClusterIP or
	// not.
	labelHeadless = "service.kubernetes.io/headless"
)

var _ = Describe("Service labels the proxy honours", Label(LabelClusterIP, LabelRules), func() {
	for _, l := range []struct{ key, value string }{
		{labelServiceProxyName, "some-other-proxy"},
		{labelHeadless, ""},
	} {
		It(fmt.Sprintf("leaves a Service labelled %s alone until the label goes", l.key), func(ctx SpecContext) {
			skipUnlessRulesReadable()
			backends, client := f.withClient(ctx, "pl", 2)
			f.service(ctx, workload.Service("", "pl-control", corev1.ServiceTypeClusterIP, map[string]string{"app": "pl"}, workload.HTTPServicePort(80)))
			svc := workload.Service("", "pl", corev1.ServiceTypeClusterIP, map[string]string{"app": "pl"}, workload.HTTPServicePort(80))
			svc.Labels = map[string]string{l.key: l.value}
			svc = f.service(ctx, svc)
			req := probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}

			By("checking no node has rules for the labelled Service, and it does not answer")
			expectRules(ctx, []string{"pl-control"}, []string{"pl"}, programBudget)
			res := probeResult(ctx, Default, client, probe.Request{Target: req.Target, Protocol: probe.TCP, Count: 2, Timeout: attemptTimeout / 2})
			Expect(res.Count(probe.Answered)).To(BeZero(), "the labelled Service answers: %s", res)

			By("removing the label: the proxy picks the Service up")
			f.updateService(ctx, "pl", func(s *corev1.Service) { delete(s.Labels, l.key) })
			expectRules(ctx, []string{"pl"}, nil, programBudget)
			eventuallySeesAll(ctx, client, req, podNames(backends), programBudget)

			By("labelling the live Service again: the proxy lets it go")
			f.updateService(ctx, "pl", func(s *corev1.Service) { s.Labels = map[string]string{l.key: l.value} })
			expectRules(ctx, nil, []string{"pl"}, programBudget)
			eventuallyUnanswered(ctx, client, probe.Request{Target: req.Target, Protocol: probe.TCP, Count: 2}, steadyBudget)
		})
	}
})
