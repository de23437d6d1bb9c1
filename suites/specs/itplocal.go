package specs

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// itpLocal is the setup of the internalTrafficPolicy Local specs: backends
// named app-0.. spread over the two workers in turn, and a ClusterIP Service
// with internalTrafficPolicy Local selecting them.
type itpLocal struct {
	svc *corev1.Service
	// onNode lists the backends of each worker by node name.
	onNode map[string][]string
}

// newITPLocal creates perWorker backends on each worker (on the first
// worker only when only0), the Service, and waits for its endpoints.
func newITPLocal(ctx context.Context, app string, perWorker int, only0 bool) itpLocal {
	GinkgoHelper()
	nodes := []Node{f.worker(0), f.worker(1)}
	if only0 {
		nodes = nodes[:1]
	}
	backends := f.backends(ctx, app, perWorker*len(nodes), nodes...)
	e := itpLocal{onNode: map[string][]string{}}
	for _, b := range backends {
		e.onNode[b.Spec.NodeName] = append(e.onNode[b.Spec.NodeName], b.Name)
	}
	svc := workload.Service("", app, corev1.ServiceTypeClusterIP, map[string]string{"app": app}, workload.HTTPServicePort(80))
	local := corev1.ServiceInternalTrafficPolicyLocal
	svc.Spec.InternalTrafficPolicy = &local
	e.svc = f.service(ctx, svc)
	Expect(workload.WaitReadyEndpoints(ctx, f.env.Client, f.ns, app, len(backends), steadyBudget)).To(Succeed())
	return e
}

func (e itpLocal) request() probe.Request {
	return probe.Request{Target: hostPort(e.svc.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 10}
}

var _ = Describe("internalTrafficPolicy Local", Label(LabelITPLocal), func() {
	It("sends a pod only to the endpoints on its own node", func(ctx SpecContext) {
		e := newITPLocal(ctx, "itp", 2, false)
		for _, node := range []Node{f.worker(0), f.worker(1)} {
			client := f.clientPod(ctx, "client-"+node.Name, node)
			By("probing from " + client.Source() + ": only " + node.Name + "'s endpoints may answer")
			eventuallyOnly(ctx, client, e.request(), e.onNode[node.Name], programBudget)
		}
	})

	It("sends a hostNetwork pod and the node itself only to the endpoints on their node", func(ctx SpecContext) {
		e := newITPLocal(ctx, "itp", 2, false)
		w0, w1 := f.worker(0), f.worker(1)
		hostPod := f.hostNetworkClient(ctx, "hostnet", w1)

		By("probing from " + hostPod.Source() + ", on " + w1.Name)
		eventuallyOnly(ctx, hostPod, e.request(), e.onNode[w1.Name], programBudget)
		By("probing from node " + w0.Name)
		eventuallyOnly(ctx, f.fromNode(w0), e.request(), e.onNode[w0.Name], programBudget)
	})

	It("drops traffic from a node without a local endpoint", func(ctx SpecContext) {
		e := newITPLocal(ctx, "itp", 1, true)
		w0, w1 := f.worker(0), f.worker(1)
		// A Service of the same backends created after the first one's
		// endpoints were ready: once it answers from w1, w1's proxy has seen
		// the first Service and its endpoints too, so a timeout is its
		// verdict, not a rule not written yet.
		ctl := f.service(ctx, workload.Service("", "control", corev1.ServiceTypeClusterIP, map[string]string{"app": "itp"}, workload.HTTPServicePort(80)))
		client := f.clientPod(ctx, "client", w1)
		eventuallyAnswered(ctx, f.fromNode(w1), probe.Request{Target: hostPort(ctl.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 2}, programBudget)

		By("checking the Service answers on " + w0.Name + ", which has the endpoint")
		eventuallyOnly(ctx, f.fromNode(w0), e.request(), e.onNode[w0.Name], programBudget)

		req := e.request()
		req.Count = 2
		By("probing from " + client.Source() + " on " + w1.Name + ": dropped, not refused nor sent to " + w0.Name)
		consistentlyTimesOut(ctx, client, req)
		By("probing from node " + w1.Name)
		consistentlyTimesOut(ctx, f.fromNode(w1), req)
	})
})
