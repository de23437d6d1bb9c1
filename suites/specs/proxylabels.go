package specs

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// Labels that take a Service away from the cluster's proxy.
const (
	// labelServiceProxyName hands a Service to another proxy, whatever its
	// value.
	labelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	// labelHeadless on an EndpointSlice hides it from the proxies, as the
	// EndpointSlice controller marks the slices of headless Services. On a
	// Service it means nothing to kube-proxy: the controller does not copy
	// it to the Service's slices.
	labelHeadless = "service.kubernetes.io/headless"
)

var _ = Describe("Service labels the proxy honours", Label(LabelClusterIP), func() {
	It("leaves a Service labelled "+labelServiceProxyName+" alone until the label goes", Label(LabelRules), func(ctx SpecContext) {
		skipUnlessRulesReadable()
		backends, client := f.withClient(ctx, "pl", 2)
		f.service(ctx, workload.Service("", "pl-control", corev1.ServiceTypeClusterIP, map[string]string{"app": "pl"}, workload.HTTPServicePort(80)))
		svc := workload.Service("", "pl", corev1.ServiceTypeClusterIP, map[string]string{"app": "pl"}, workload.HTTPServicePort(80))
		svc.Labels = map[string]string{labelServiceProxyName: "some-other-proxy"}
		svc = f.service(ctx, svc)
		req := probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}

		By("checking no node has rules for the labelled Service, and it does not answer")
		expectRules(ctx, []string{"pl-control"}, []string{"pl"}, programBudget)
		res := probeResult(ctx, Default, client, probe.Request{Target: req.Target, Protocol: probe.TCP, Count: 2, Timeout: attemptTimeout / 2})
		Expect(res.Count(probe.Answered)).To(BeZero(), "the labelled Service answers: %s", res)

		By("removing the label: the proxy picks the Service up")
		f.updateService(ctx, "pl", func(s *corev1.Service) { delete(s.Labels, labelServiceProxyName) })
		expectRules(ctx, []string{"pl"}, nil, programBudget)
		eventuallySeesAll(ctx, client, req, podNames(backends), programBudget)

		By("labelling the live Service again: the proxy lets it go")
		f.updateService(ctx, "pl", func(s *corev1.Service) { s.Labels = map[string]string{labelServiceProxyName: "some-other-proxy"} })
		expectRules(ctx, nil, []string{"pl"}, programBudget)
		eventuallyUnanswered(ctx, client, probe.Request{Target: req.Target, Protocol: probe.TCP, Count: 2}, steadyBudget)
	})

	It("ignores an EndpointSlice labelled "+labelHeadless+" until the label goes", func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "hs", 1)
		svc := f.service(ctx, workload.Service("", "hs", corev1.ServiceTypeClusterIP, nil, workload.HTTPServicePort(80)))
		slice := manualSlice("hs", backends[0])
		slices := f.env.Client.DiscoveryV1().EndpointSlices(f.ns)
		_, err := slices.Create(ctx, slice, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		req := probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 3}
		res := eventuallyAnswered(ctx, client, req, programBudget)
		Expect(res.Hostnames()).To(Equal(podNames(backends)))

		setLabel := func(on bool) {
			cur, err := slices.Get(ctx, slice.Name, metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred())
			if on {
				cur.Labels[labelHeadless] = ""
			} else {
				delete(cur.Labels, labelHeadless)
			}
			_, err = slices.Update(ctx, cur, metav1.UpdateOptions{})
			Expect(err).NotTo(HaveOccurred())
		}
		By("labelling the EndpointSlice headless: the Service has no endpoints left and refuses")
		setLabel(true)
		Eventually(ctx, func(g Gomega) {
			res := probeResult(ctx, g, client, probe.Request{Target: req.Target, Protocol: probe.TCP, Count: 2})
			g.Expect(res.Outcomes()).To(Equal([]probe.Outcome{probe.Refused}), "want every attempt refused: %s", res)
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())

		By("removing the label: the endpoint is back")
		setLabel(false)
		res = eventuallyAnswered(ctx, client, req, programBudget)
		Expect(res.Hostnames()).To(Equal(podNames(backends)))
	})
})

// manualSlice is an EndpointSlice of the Service named service with pod as
// its one ready endpoint on the agent's HTTP port, named "http".
func manualSlice(service string, pod *corev1.Pod) *discoveryv1.EndpointSlice {
	name, port, ready := workload.HTTPPortName, int32(workload.HTTPPort), true
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: service + "-manual", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{pod.Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			NodeName: &pod.Spec.NodeName,
		}},
		Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
	}
}
