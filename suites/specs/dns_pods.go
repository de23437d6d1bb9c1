package specs

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/suites/agent"
	"github.com/svccheck/svccheck/suites/workload"
)

// clusterService returns the ClusterIP of a Service outside the spec's
// namespace (the API server's kubernetes Service, the cluster DNS).
func clusterService(ctx context.Context, ns, name string) string {
	GinkgoHelper()
	svc, err := f.env.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred(), "reading Service %s/%s", ns, name)
	return svc.Spec.ClusterIP
}

// Every lookup of these specs goes to the cluster DNS Service's ClusterIP
// over UDP, through the proxy: from a pod, from the node's own network
// namespace, and from a pod whose resolv.conf the spec wrote.
var _ = Describe("Pod DNS", Label(LabelDNS, LabelClusterIP), func() {
	It("resolves the cluster's names through a pod's search path", func(ctx SpecContext) {
		client := f.clientPod(ctx, "client", f.worker(0))
		api := clusterService(ctx, metav1.NamespaceDefault, "kubernetes")
		for _, name := range []string{"kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + clusterDomain, "kubernetes.default.svc." + clusterDomain + "."} {
			eventuallyResolves(ctx, client, name, agent.TypeA, func(g Gomega, rep agent.DNSReport) {
				g.Expect(rep.Addresses).To(Equal([]string{api}), "A records of %s", name)
			})
		}
	})

	It("resolves a Service's partial names from a hostNetwork pod with dnsPolicy ClusterFirstWithHostNet", func(ctx SpecContext) {
		client := f.hostNetworkClient(ctx, "hostdns", f.worker(0), func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
		})
		svc := f.service(ctx, workload.Service("", "named", corev1.ServiceTypeClusterIP, map[string]string{"app": "named"}, workload.HTTPServicePort(80)))
		for _, name := range []string{"named", "named." + f.ns, "named." + f.ns + ".svc", svcFQDN("named")} {
			eventuallyResolves(ctx, client, name, agent.TypeA, func(g Gomega, rep agent.DNSReport) {
				g.Expect(rep.Addresses).To(Equal([]string{svc.Spec.ClusterIP}), "A records of %s", name)
			})
		}
	})

	It("uses the nameservers and search path of a pod's dnsConfig", func(ctx SpecContext) {
		dns := clusterService(ctx, metav1.NamespaceSystem, "kube-dns")
		api := clusterService(ctx, metav1.NamespaceDefault, "kubernetes")
		pod := f.podFor(workload.Pod{Name: "client", Node: f.worker(0).Name, Labels: map[string]string{"role": "client"}})
		pod.Spec.DNSPolicy = corev1.DNSNone
		// Only this search path makes "kubernetes" a name: the default
		// one starts at the spec's namespace, which has no such Service.
		pod.Spec.DNSConfig = &corev1.PodDNSConfig{
			Nameservers: []string{dns},
			Searches:    []string{"default.svc." + clusterDomain},
		}
		f.createPods(ctx, pod)
		eventuallyResolves(ctx, f.podProber("client"), "kubernetes", agent.TypeA, func(g Gomega, rep agent.DNSReport) {
			g.Expect(rep.Addresses).To(Equal([]string{api}), "A records of kubernetes through the search path default.svc.%s", clusterDomain)
		})
	})
})
