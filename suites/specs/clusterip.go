package specs

import (
	"net/netip"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

var _ = Describe("ClusterIP", Label(LabelClusterIP), func() {
	It("reaches every backend over time", func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "web", 3)
		svc := f.service(ctx, workload.Service("", "web", corev1.ServiceTypeClusterIP, map[string]string{"app": "web"}, workload.HTTPServicePort(80)))

		By("probing " + svc.Spec.ClusterIP + ":80 until every backend answered")
		eventuallySeesAll(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 10}, podNames(backends), programBudget)
	})

	It("forwards several ports, TCP and UDP, to named target ports", Label(LabelUDP), func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "multi", 2)
		svc := f.service(ctx, workload.Service("", "multi", corev1.ServiceTypeClusterIP, map[string]string{"app": "multi"},
			workload.HTTPServicePort(80), workload.UDPServicePort(53)))

		By("reaching every backend over TCP port 80")
		eventuallySeesAll(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)
		By("reaching every backend over UDP port 53")
		eventuallySeesAll(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 53), Protocol: probe.UDP, Count: 8}, podNames(backends), programBudget)
	})

	It("follows a change of the Service port", func(ctx SpecContext) {
		_, client := f.withClient(ctx, "move", 1)
		svc := f.service(ctx, workload.Service("", "move", corev1.ServiceTypeClusterIP, map[string]string{"app": "move"}, workload.HTTPServicePort(80)))
		eventuallyAnswered(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 2}, programBudget)

		By("moving the Service from port 80 to 8088")
		f.updateService(ctx, "move", func(s *corev1.Service) { s.Spec.Ports[0].Port = 8088 })
		eventuallyAnswered(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 8088), Protocol: probe.HTTP, Count: 2}, programBudget)
		By("checking port 80 no longer answers")
		Eventually(ctx, func(g Gomega) {
			res := probeResult(ctx, g, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.TCP, Count: 2, Timeout: time.Second})
			g.Expect(res.Count(probe.Answered)).To(BeZero(), "old port 80 still answers: %s", res)
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
	})

	It("follows backends scaling up and down", func(ctx SpecContext) {
		first, client := f.withClient(ctx, "scale", 1)
		svc := f.service(ctx, workload.Service("", "scale", corev1.ServiceTypeClusterIP, map[string]string{"app": "scale"}, workload.HTTPServicePort(80)))
		req := probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}
		eventuallySeesAll(ctx, client, req, podNames(first), programBudget)

		By("adding a second backend")
		second := f.extraBackend(ctx, "scale", "scale-new", f.worker(1))
		eventuallySeesAll(ctx, client, req, []string{first[0].Name, second.Name}, programBudget)

		By("removing the first backend")
		Expect(workload.DeletePod(ctx, f.env.Client, f.ns, first[0].Name)).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			res := probeResult(ctx, g, client, req)
			allAnswered(g, res, "after scaling down")
			g.Expect(res.Hostnames()).To(Equal([]string{second.Name}))
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
	})

	It("rejects connections to a Service with no ready endpoints", func(ctx SpecContext) {
		client := f.clientPod(ctx, "client", f.worker(0))
		svc := f.service(ctx, workload.Service("", "empty", corev1.ServiceTypeClusterIP, map[string]string{"app": "nothing"}, workload.HTTPServicePort(80)))

		By("expecting refused connections, not timeouts")
		Eventually(ctx, func(g Gomega) {
			res := probeResult(ctx, g, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.TCP, Count: 3})
			g.Expect(res.Outcomes()).To(Equal([]probe.Outcome{probe.Refused}), "want every attempt refused: %s", res)
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
	})

	It("lets a pod reach itself through its Service (hairpin)", func(ctx SpecContext) {
		backends := f.backends(ctx, "hairpin", 1)
		svc := f.service(ctx, workload.Service("", "hairpin", corev1.ServiceTypeClusterIP, map[string]string{"app": "hairpin"}, workload.HTTPServicePort(80)))
		self := f.podProber(backends[0].Name)

		res := eventuallyAnswered(ctx, self, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 3}, programBudget)
		Expect(res.Hostnames()).To(Equal([]string{backends[0].Name}))
	})

	It("forwards a selector-less Service to a hand-made EndpointSlice", func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "manual", 2)
		svc := f.service(ctx, workload.Service("", "manual", corev1.ServiceTypeClusterIP, nil, workload.HTTPServicePort(80)))

		By("pointing an EndpointSlice at " + backends[1].Name + " only")
		name, port, ready := "http", int32(workload.HTTPPort), true
		_, err := f.env.Client.DiscoveryV1().EndpointSlices(f.ns).Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "manual-1", Labels: map[string]string{discoveryv1.LabelServiceName: "manual"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{
				Addresses: []string{backends[1].Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				NodeName: &backends[1].Spec.NodeName,
			}},
			Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		res := eventuallyAnswered(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}, programBudget)
		Expect(res.Hostnames()).To(Equal([]string{backends[1].Name}))
	})

	It("sends connections where the node's rules say", Label(LabelRules), func(ctx SpecContext) {
		prefix := chainPrefix()
		if prefix == "" {
			Skip("tracing rules needs an iptables proxy (svccheck's, or kube-proxy in iptables mode), not " + f.env.proxyDesc())
		}
		backends := f.backends(ctx, "traced", 3)
		svc := f.service(ctx, workload.Service("", "traced", corev1.ServiceTypeClusterIP, map[string]string{"app": "traced"}, workload.HTTPServicePort(80)))
		node := f.worker(1)
		target := hostPort(svc.Spec.ClusterIP, 80)
		want := make([]string, len(backends))
		for i, p := range backends {
			want[i] = hostPort(p.Status.PodIP, workload.HTTPPort)
		}

		By("tracing a connection from " + node.Name + " through its rules")
		tracer := &probe.RuleTracer{Name: node.Name, Cmder: node.Cmder, LocalAddrs: []string{node.IP}, ChainPrefix: prefix}
		Eventually(ctx, func(g Gomega) {
			res, err := tracer.Trace(ctx, probe.TCP, target)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Endpoints()).To(ConsistOf(want), "traced paths:\n%s", res)
		}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())

		By("sending real connections from " + node.Name + ": they must reach the same backends")
		eventuallySeesAll(ctx, f.fromNode(node), probe.Request{Target: target, Protocol: probe.HTTP, Count: 10}, podNames(backends), programBudget)
	})

	It("allocates the ClusterIP from the cluster's Service range", func(ctx SpecContext) {
		svc := f.service(ctx, workload.Service("", "ranged", corev1.ServiceTypeClusterIP, map[string]string{"app": "ranged"}, workload.HTTPServicePort(80)))
		ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
		Expect(err).NotTo(HaveOccurred(), "ClusterIP %q", svc.Spec.ClusterIP)
		Expect(f.env.ServiceCIDR.Contains(ip)).To(BeTrue(), "ClusterIP %s outside the Service range %s", ip, f.env.ServiceCIDR)
	})
})
