package specs

import (
	"context"
	"fmt"
	"math/rand/v2"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// UDP ports of the conntrack specs: the Service port, and the second port
// the targetPort spec's backend serves on, answering with another name.
const (
	udpServicePort = 5353
	altUDPPort     = 9091
)

// udpFlow is a client that keeps sending to one UDP Service from one
// source port, so every datagram after the first follows the conntrack
// entry the first one made.
type udpFlow struct {
	client probe.Prober
	req    probe.Request
}

// udpClient says where a flow comes from and which address it targets.
type udpClient struct {
	// what names the client and target for the spec text.
	what string
	// suite is the suite label of the spec.
	suite string
	// typ is the Service type the target needs.
	typ corev1.ServiceType
	// fromNode sends from the first worker's network namespace (a
	// hostNetwork client) instead of a pod on it.
	fromNode bool
	// local gives the Service internalTrafficPolicy Local and puts the
	// backends on the client's node; only the replacement spec runs.
	local bool
}

var udpClients = []udpClient{
	{"a pod to the ClusterIP", LabelClusterIP, corev1.ServiceTypeClusterIP, false, false},
	{"a pod to a node port", LabelNodePort, corev1.ServiceTypeNodePort, false, false},
	{"a hostNetwork client to the ClusterIP", LabelClusterIP, corev1.ServiceTypeClusterIP, true, false},
	{"a pod to the ClusterIP with internalTrafficPolicy Local", LabelITPLocal, corev1.ServiceTypeClusterIP, false, true},
}

// newUDPFlow creates the client of c on the first worker and the Service
// "udp" of c's type selecting app=udp with targetPort target, and returns
// the flow. Backends go on the second worker (udpBackend), so a pod
// client's traffic crosses nodes, but for internalTrafficPolicy Local.
func newUDPFlow(ctx context.Context, c udpClient, target intstr.IntOrString) udpFlow {
	GinkgoHelper()
	sp := workload.UDPServicePort(udpServicePort)
	sp.TargetPort = target
	svc := workload.Service("", "udp", c.typ, map[string]string{"app": "udp"}, sp)
	if c.local {
		local := corev1.ServiceInternalTrafficPolicyLocal
		svc.Spec.InternalTrafficPolicy = &local
	}
	svc = f.service(ctx, svc)
	addr := hostPort(svc.Spec.ClusterIP, udpServicePort)
	if c.typ == corev1.ServiceTypeNodePort {
		addr = hostPort(f.worker(1).IP, svc.Spec.Ports[0].NodePort)
	}
	var client probe.Prober
	if c.fromNode {
		client = f.fromNode(f.worker(0))
	} else {
		client = f.clientPod(ctx, "client", f.worker(0))
	}
	// One source port per spec, away from the node-port range and from
	// the ports the agent serves on.
	port := 40000 + rand.IntN(10000)
	return udpFlow{client: client, req: probe.Request{Target: addr, Protocol: probe.UDP, Count: 2, Timeout: attemptTimeout / 2, SourcePort: port}}
}

// answeredBy keeps sending until every datagram of a batch is answered by
// host alone, within the program budget.
func (u udpFlow) answeredBy(ctx context.Context, host string) {
	GinkgoHelper()
	Eventually(ctx, func(g Gomega) {
		res := probeResult(ctx, g, u.client, u.req)
		allAnswered(g, res, fmt.Sprintf("udp %s from %s port %d", u.req.Target, u.client.Source(), u.req.SourcePort))
		g.Expect(res.Hostnames()).To(Equal([]string{host}), "udp %s from %s port %d", u.req.Target, u.client.Source(), u.req.SourcePort)
	}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
}

// udpBackend returns an agent pod labelled app=udp on the second worker,
// or, for c local, on the client's node, the first worker.
func udpBackend(c udpClient, name string) workload.Pod {
	node := f.worker(1)
	if c.local {
		node = f.worker(0)
	}
	return workload.Pod{Name: name, Node: node.Name, Labels: map[string]string{"app": "udp"}}
}

var _ = Describe("UDP conntrack", Label(LabelUDP), func() {
	for _, c := range udpClients {
		It("answers from the new backend after the old one is replaced, from "+c.what, Label(c.suite), func(ctx SpecContext) {
			u := newUDPFlow(ctx, c, intstr.FromString(workload.UDPPortName))
			f.create(ctx, udpBackend(c, "udp-old"))
			u.answeredBy(ctx, "udp-old")

			By("replacing the backend, the client sending from the same port")
			Expect(workload.DeletePod(ctx, f.env.Client, f.ns, "udp-old")).To(Succeed())
			f.create(ctx, udpBackend(c, "udp-new"))
			u.answeredBy(ctx, "udp-new")
		})
		if c.local {
			continue
		}

		It("answers once an unready backend becomes ready, from "+c.what, Label(c.suite), func(ctx SpecContext) {
			u := newUDPFlow(ctx, c, intstr.FromString(workload.UDPPortName))
			By("sending while the Service has no endpoint")
			res := probeResult(ctx, Default, u.client, u.req)
			Expect(res.Count(probe.Answered)).To(BeZero(), "a Service without endpoints answered: %s", res)

			By("starting a backend that turns ready only after a few seconds")
			pod := f.podFor(udpBackend(c, "udp-late"))
			pod.Spec.Containers[0].ReadinessProbe.InitialDelaySeconds = 4
			f.createPod(ctx, pod)
			u.answeredBy(ctx, "udp-late")
		})

		It("follows a change of the Service's targetPort, from "+c.what, Label(c.suite), func(ctx SpecContext) {
			u := newUDPFlow(ctx, c, intstr.FromInt32(workload.UDPPort))
			f.createPods(ctx, twoPortPod(c, "udp-two"))
			u.answeredBy(ctx, "udp-two")

			By(fmt.Sprintf("moving the targetPort from %d to %d, the client sending from the same port", workload.UDPPort, altUDPPort))
			f.updateService(ctx, "udp", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(altUDPPort) })
			u.answeredBy(ctx, "udp-two-alt")
		})
	}
})

// twoPortPod is a backend labelled app=udp on the second worker with a
// second agent container, which serves UDP on altUDPPort and answers as
// name-alt, so a client can tell which targetPort it reached.
func twoPortPod(c udpClient, name string) *corev1.Pod {
	pod := f.podFor(udpBackend(c, name))
	main := pod.Spec.Containers[0]
	alt := corev1.Container{
		Name:            "alt",
		Image:           main.Image,
		ImagePullPolicy: main.ImagePullPolicy,
		Command: []string{"svccheck", "agent", "serve", "--hostname", name + "-alt",
			"--http-port", fmt.Sprint(altHTTPPort), "--udp-port", fmt.Sprint(altUDPPort)},
		Ports: []corev1.ContainerPort{{Name: "udp-alt", ContainerPort: altUDPPort, Protocol: corev1.ProtocolUDP}},
	}
	pod.Spec.Containers = append(pod.Spec.Containers, alt)
	return pod
}
