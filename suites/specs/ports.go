package specs

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// altHTTPPort is the HTTP port of backends that serve on another port than
// the agent's default.
const altHTTPPort = 9090

var _ = Describe("Service ports", func() {
	It("follows ports added to and removed from a live Service", Label(LabelClusterIP), func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "ports", 2)
		svc := f.service(ctx, workload.Service("", "ports", corev1.ServiceTypeClusterIP, map[string]string{"app": "ports"}, workload.HTTPServicePort(80)))
		eventuallyAnswered(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 2}, programBudget)

		By("adding port 81")
		extra := workload.HTTPServicePort(81)
		extra.Name = "http-alt"
		f.updateService(ctx, "ports", func(s *corev1.Service) { s.Spec.Ports = append(s.Spec.Ports, extra) })
		eventuallySeesAll(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 81), Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)

		By("removing port 80: it stops answering, port 81 keeps answering")
		f.updateService(ctx, "ports", func(s *corev1.Service) { s.Spec.Ports = []corev1.ServicePort{extra} })
		eventuallyUnanswered(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.TCP, Count: 2}, programBudget)
		eventuallyAnswered(ctx, client, probe.Request{Target: hostPort(svc.Spec.ClusterIP, 81), Protocol: probe.HTTP, Count: 4}, steadyBudget)
	})

	It("serves one port number over TCP and UDP", Label(LabelClusterIP, LabelUDP), func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "dual", 2)
		svc := f.service(ctx, workload.Service("", "dual", corev1.ServiceTypeClusterIP, map[string]string{"app": "dual"},
			workload.HTTPServicePort(5353), workload.UDPServicePort(5353)))
		target := hostPort(svc.Spec.ClusterIP, 5353)
		By("reaching every backend over TCP and over UDP on port 5353")
		eventuallySeesAll(ctx, client, probe.Request{Target: target, Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)
		eventuallySeesAll(ctx, client, probe.Request{Target: target, Protocol: probe.UDP, Count: 8}, podNames(backends), programBudget)
	})

	It("resolves a named targetPort to each backend's own container port", Label(LabelClusterIP), func(ctx SpecContext) {
		client := f.worker(0)
		f.involve(client.Name)
		pods := f.create(ctx,
			workload.Pod{Name: "named-0", Node: f.worker(0).Name, Labels: map[string]string{"app": "named"}},
			workload.Pod{Name: "named-1", Node: f.worker(1).Name, Labels: map[string]string{"app": "named"}, HTTPPort: altHTTPPort},
			workload.Pod{Name: "client", Node: client.Name, Labels: map[string]string{"role": "client"}})
		Expect(pods[1].Spec.Containers[0].Ports[0].ContainerPort).To(BeEquivalentTo(altHTTPPort))
		svc := f.service(ctx, workload.Service("", "named", corev1.ServiceTypeClusterIP, map[string]string{"app": "named"}, workload.HTTPServicePort(80)))

		By("reaching the backend on port 8080 and the one on port 9090 through the same Service port")
		eventuallySeesAll(ctx, f.podProber("client"), probe.Request{Target: hostPort(svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8},
			[]string{"named-0", "named-1"}, programBudget)
	})

	It("moves a node port to the same number over another protocol", Label(LabelNodePort, LabelUDP), func(ctx SpecContext) {
		backends := f.backends(ctx, "proto", 1)
		svc := f.service(ctx, workload.Service("", "proto", corev1.ServiceTypeNodePort, map[string]string{"app": "proto"}, workload.HTTPServicePort(80)))
		port := svc.Spec.Ports[0].NodePort
		from, to := f.env.Nodes[0], f.worker(1)
		target := hostPort(to.IP, port)
		eventuallyAnswered(ctx, f.fromNode(from), probe.Request{Target: target, Protocol: probe.HTTP, Count: 2}, programBudget)

		By("switching the port to UDP, keeping node port " + target)
		moved := f.updateService(ctx, "proto", func(s *corev1.Service) {
			p := workload.UDPServicePort(80)
			p.NodePort = port
			s.Spec.Ports = []corev1.ServicePort{p}
		})
		Expect(moved.Spec.Ports[0].NodePort).To(Equal(port))
		res := eventuallyAnswered(ctx, f.fromNode(from), probe.Request{Target: target, Protocol: probe.UDP, Count: 2}, programBudget)
		Expect(res.Hostnames()).To(Equal(podNames(backends)))
		By("checking TCP on the node port no longer answers")
		eventuallyUnanswered(ctx, f.fromNode(from), probe.Request{Target: target, Protocol: probe.TCP, Count: 2}, programBudget)
	})

	It("refuses a node port already allocated or out of range", Label(LabelNodePort), func(ctx SpecContext) {
		first := f.service(ctx, workload.Service("", "taken", corev1.ServiceTypeNodePort, map[string]string{"app": "taken"}, workload.HTTPServicePort(80)))
		for _, tc := range []struct {
			what string
			port int32
		}{
			{"already allocated", first.Spec.Ports[0].NodePort},
			{"below the range", f.env.NodePortMin - 1},
			{"above the range", f.env.NodePortMax + 1},
		} {
			By("asking for node port " + tc.what)
			sp := workload.HTTPServicePort(80)
			sp.NodePort = tc.port
			svc := workload.Service(f.ns, "refused", corev1.ServiceTypeNodePort, map[string]string{"app": "taken"}, sp)
			_, err := workload.CreateService(ctx, f.env.Client, svc)
			Expect(err).To(HaveOccurred(), "node port %d %s was accepted", tc.port, tc.what)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "node port %d %s: want an Invalid error, got %v", tc.port, tc.what, err)
		}
	})

	It("releases a deleted Service's node port for reuse at once", Label(LabelNodePort), func(ctx SpecContext) {
		backends := f.backends(ctx, "reuse", 1)
		first := f.service(ctx, workload.Service("", "first", corev1.ServiceTypeNodePort, map[string]string{"app": "reuse"}, workload.HTTPServicePort(80)))
		port := first.Spec.Ports[0].NodePort
		f.deleteService(ctx, "first")

		By(fmt.Sprintf("creating another Service on node port %d", port))
		sp := workload.HTTPServicePort(80)
		sp.NodePort = port
		second := f.service(ctx, workload.Service("", "second", corev1.ServiceTypeNodePort, map[string]string{"app": "reuse"}, sp))
		Expect(second.Spec.Ports[0].NodePort).To(Equal(port))
		res := eventuallyAnswered(ctx, f.fromNode(f.env.Nodes[0]), probe.Request{Target: hostPort(f.worker(1).IP, port), Protocol: probe.HTTP, Count: 2}, programBudget)
		Expect(res.Hostnames()).To(Equal(podNames(backends)))
	})
})
