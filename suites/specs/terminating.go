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

// lingerSeconds is how long a deleted lingering backend stays terminating
// and serving: far longer than a spec, which force-deletes it at its end.
const lingerSeconds = 180

// lingering returns a backend labelled app=app on node that keeps serving
// for lingerSeconds once deleted (a preStop sleep), force-deleted when the
// spec ends.
func lingering(name, app string, node Node) *corev1.Pod {
	f.forceDeleteLater(name)
	return workload.WithPreStopSleep(f.agentPod(name, node, map[string]string{"app": app}), lingerSeconds)
}

// terminate deletes pod gracefully and waits until the EndpointSlices of
// service show it terminating and, as serving is wanted, still serving.
func terminate(ctx context.Context, service string, pod *corev1.Pod, serving bool) {
	GinkgoHelper()
	By(fmt.Sprintf("deleting %s, which stays terminating", pod.Name))
	Expect(workload.DeletePodGracefully(ctx, f.env.Client, f.ns, pod.Name)).To(Succeed())
	Expect(workload.WaitEndpointConditions(ctx, f.env.Client, f.ns, service, pod.Status.PodIP, false, serving, true, steadyBudget)).To(Succeed())
}

// eventuallyRefused waits until every attempt of a TCP probe of target is
// refused.
func eventuallyRefused(ctx context.Context, p probe.Prober, target string) {
	GinkgoHelper()
	Eventually(ctx, func(g Gomega) {
		res := probeResult(ctx, g, p, probe.Request{Target: target, Protocol: probe.TCP, Count: 3})
		g.Expect(res.Outcomes()).To(Equal([]probe.Outcome{probe.Refused}), "%s from %s: want every attempt refused: %s", target, p.Source(), res)
	}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
}

// fallbackCase is one traffic policy of the terminating fallback specs.
type fallbackCase struct {
	// external probes the node port of a NodePort Service from the
	// control-plane node; otherwise a pod probes the ClusterIP.
	external bool
	// local sets the policy of that traffic to Local.
	local bool
}

// fallbackSetup creates two lingering backends fb-0 and fb-1 (both on the
// first worker when local, else one per worker), for a Local policy a
// ready backend fb-remote on the second worker, which must never answer,
// the Service fb and the client. It returns the prober, the request and the
// two lingering backends.
func fallbackSetup(ctx context.Context, c fallbackCase) (probe.Prober, probe.Request, []*corev1.Pod) {
	GinkgoHelper()
	w0, w1 := f.worker(0), f.worker(1)
	labels := map[string]string{"app": "fb"}
	second := w1
	if c.local {
		second = w0
	}
	pods := []*corev1.Pod{lingering("fb-0", "fb", w0), lingering("fb-1", "fb", second)}
	if c.local {
		pods = append(pods, f.agentPod("fb-remote", w1, labels))
	}
	if !c.external {
		pods = append(pods, f.agentPod("client", w0, map[string]string{"role": "client"}))
	}
	created := f.createPods(ctx, pods...)

	svc := workload.Service("", "fb", corev1.ServiceTypeClusterIP, labels, workload.HTTPServicePort(80))
	switch {
	case c.external:
		svc.Spec.Type = corev1.ServiceTypeNodePort
		if c.local {
			svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}
	case c.local:
		local := corev1.ServiceInternalTrafficPolicyLocal
		svc.Spec.InternalTrafficPolicy = &local
	}
	svc = f.service(ctx, svc)
	Expect(workload.WaitReadyEndpoints(ctx, f.env.Client, f.ns, "fb", len(created)-btoi(!c.external), steadyBudget)).To(Succeed())

	if c.external {
		cp := f.env.Nodes[0]
		return f.fromNode(cp), probe.Request{Target: hostPort(w0.IP, svc.Spec.Ports[0].NodePort), Protocol: probe.HTTP, Count: 10}, created[:2]
	}
	return f.podProber("client"), probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 10}, created[:2]
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

var _ = Describe("Terminating endpoints", Label(LabelTerminating), func() {
	DescribeTable("fall back to serving terminating endpoints when none is ready",
		func(ctx SpecContext, c fallbackCase) {
			client, req, fb := fallbackSetup(ctx, c)
			first, second := fb[0], fb[1]
			eventuallyOnly(ctx, client, req, podNames(fb), programBudget)

			terminate(ctx, "fb", first, true)
			By("reaching only " + second.Name + ", the ready one, while " + first.Name + " terminates")
			eventuallyOnly(ctx, client, req, []string{second.Name}, programBudget)

			terminate(ctx, "fb", second, true)
			By("reaching both terminating backends once none is ready")
			eventuallyOnly(ctx, client, req, podNames(fb), programBudget)
		},
		Entry("with internalTrafficPolicy Cluster", fallbackCase{}),
		Entry("with internalTrafficPolicy Local, local ones only", fallbackCase{local: true}),
		Entry("with externalTrafficPolicy Cluster", fallbackCase{external: true}),
		Entry("with externalTrafficPolicy Local, local ones only", fallbackCase{external: true, local: true}),
	)

	It("make the health check node port answer 503 on a node that has only them", func(ctx SpecContext) {
		w0, cp := f.worker(0), f.env.Nodes[0]
		backend := f.createPods(ctx, lingering("hc-0", "hc", w0))[0]
		svc := workload.Service("", "hc", corev1.ServiceTypeLoadBalancer, map[string]string{"app": "hc"}, workload.HTTPServicePort(80))
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		svc = f.service(ctx, svc)
		hc := svc.Spec.HealthCheckNodePort
		Expect(hc).NotTo(BeZero(), "no healthCheckNodePort allocated")
		url := fmt.Sprintf("http://%s/", hostPort(w0.IP, hc))
		req := probe.Request{Target: hostPort(w0.IP, svc.Spec.Ports[0].NodePort), Protocol: probe.HTTP, Count: 3}

		eventuallyHealthCheck(ctx, cp, url, "200")
		eventuallyOnly(ctx, f.fromNode(cp), req, []string{backend.Name}, programBudget)

		terminate(ctx, "hc", backend, true)
		By("expecting 503 from " + url + " while the terminating backend still answers")
		eventuallyHealthCheck(ctx, cp, url, "503")
		eventuallyOnly(ctx, f.fromNode(cp), req, []string{backend.Name}, steadyBudget)
	})

	It("reach an unready and a terminating pod only with publishNotReadyAddresses", func(ctx SpecContext) {
		w0, w1 := f.worker(0), f.worker(1)
		pod := workload.WithServingGate(lingering("pnr-0", "pnr", w0))
		created := f.createPods(ctx, pod, f.agentPod("client", w1, map[string]string{"role": "client"}))
		backend, client := created[0], f.podProber("client")
		publish := workload.Service("", "publish", corev1.ServiceTypeClusterIP, map[string]string{"app": "pnr"}, workload.HTTPServicePort(80))
		publish.Spec.PublishNotReadyAddresses = true
		publish = f.service(ctx, publish)
		hide := f.service(ctx, workload.Service("", "hide", corev1.ServiceTypeClusterIP, map[string]string{"app": "pnr"}, workload.HTTPServicePort(80)))
		req := func(s *corev1.Service) probe.Request {
			return probe.Request{Target: hostPort(s.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 3}
		}
		eventuallyOnly(ctx, client, req(publish), []string{backend.Name}, programBudget)
		eventuallyOnly(ctx, client, req(hide), []string{backend.Name}, programBudget)

		By("making " + backend.Name + " unready")
		Expect(workload.SetServingGate(ctx, f.env.Client, f.ns, backend.Name, false)).To(Succeed())
		Expect(workload.WaitEndpointConditions(ctx, f.env.Client, f.ns, "hide", backend.Status.PodIP, false, false, false, steadyBudget)).To(Succeed())
		eventuallyRefused(ctx, client, req(hide).Target)
		eventuallyOnly(ctx, client, req(publish), []string{backend.Name}, steadyBudget)

		terminate(ctx, "hide", backend, false)
		By("reaching the unready terminating pod through publish only")
		eventuallyOnly(ctx, client, req(publish), []string{backend.Name}, steadyBudget)
		eventuallyRefused(ctx, client, req(hide).Target)
	})

	It("leave a Service whose pods were evicted and deleted with no endpoints, which rejects", func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "gone", 2)
		svc := f.service(ctx, workload.Service("", "gone", corev1.ServiceTypeClusterIP, map[string]string{"app": "gone"}, workload.HTTPServicePort(80)))
		req := probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}
		eventuallyOnly(ctx, client, req, podNames(backends), programBudget)

		By("evicting " + backends[0].Name)
		Expect(workload.EvictPod(ctx, f.env.Client, f.ns, backends[0].Name)).To(Succeed())
		eventuallyOnly(ctx, client, req, []string{backends[1].Name}, programBudget)

		By("deleting " + backends[1].Name)
		Expect(workload.DeletePod(ctx, f.env.Client, f.ns, backends[1].Name)).To(Succeed())
		Expect(workload.WaitReadyEndpoints(ctx, f.env.Client, f.ns, "gone", 0, steadyBudget)).To(Succeed())
		eventuallyGone(ctx, client, backends...)
		eventuallyRefused(ctx, client, req.Target)
	})
})

// eventuallyGone waits until no pod of pods refuses or answers a
// connection to its own address any more: its network namespace is gone.
// A deleted pod's agent closes its listener at once, while its address
// lives on until the kubelet tears the pod down; until then a connection
// the proxy still sends there is refused by the pod, not by the proxy.
func eventuallyGone(ctx context.Context, p probe.Prober, pods ...*corev1.Pod) {
	GinkgoHelper()
	By(fmt.Sprintf("waiting until the addresses of %v refuse no connection: only the proxy can refuse then", podNames(pods)))
	Eventually(ctx, func(g Gomega) {
		for _, pod := range pods {
			res := probeResult(ctx, g, p, probe.Request{Target: hostPort(pod.Status.PodIP, workload.HTTPPort), Protocol: probe.TCP, Count: 1, Timeout: time.Second})
			g.Expect(res.Count(probe.Refused)+res.Count(probe.Answered)).To(BeZero(), "%s (%s) still has a network namespace: %s", pod.Name, pod.Status.PodIP, res)
		}
	}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
}

// eventuallyHealthCheck waits until GET url from node answers code.
func eventuallyHealthCheck(ctx context.Context, node Node, url, code string) {
	GinkgoHelper()
	f.involve(node.Name)
	Eventually(ctx, func(g Gomega) {
		got, err := httpStatusFromNode(ctx, node, url)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(code), "GET %s from %s", url, node.Name)
	}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
}
