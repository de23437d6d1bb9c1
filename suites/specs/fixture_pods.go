package specs

import (
	"context"
	"maps"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// agentPod returns the object of an agent pod of the spec's namespace on
// node, for the workload.With... helpers and createPods.
func (fx *fixture) agentPod(name string, node Node, labels map[string]string) *corev1.Pod {
	return fx.podFor(workload.Pod{Name: name, Node: node.Name, Labels: labels})
}

// createPods creates pod objects made by agentPod and waits until they are
// Ready.
func (fx *fixture) createPods(ctx context.Context, pods ...*corev1.Pod) []*corev1.Pod {
	GinkgoHelper()
	out, err := workload.CreatePodObjects(ctx, fx.env.Client, fx.env.PodTimeout, pods...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// hostNetworkClient creates a hostNetwork agent pod on node to probe from
// and returns its prober. Its agent serves on a port of its own, away from
// the node's other listeners and other specs' hostNetwork pods. Each of
// change, if any, changes the pod before it is created.
func (fx *fixture) hostNetworkClient(ctx context.Context, name string, node Node, change ...func(*corev1.Pod)) *probe.PodProber {
	GinkgoHelper()
	fx.involve(node.Name)
	p := workload.AgentPod(fx.ns, fx.env.Image, workload.Pod{Name: name, Node: node.Name, HostNetwork: true, Labels: map[string]string{"role": "client"}})
	port := 20000 + int32(GinkgoRandomSeed()%5000) + int32(CurrentSpecReport().LeafNodeLocation.LineNumber)
	p = workload.WithHTTPPort(p, port)
	for _, c := range change {
		c(p)
	}
	fx.createPods(ctx, p)
	return fx.podProber(name)
}

// forceDeleteLater deletes the named pods at once when the spec ends, so
// pods kept terminating by a preStop hook do not outlive it.
func (fx *fixture) forceDeleteLater(names ...string) {
	DeferCleanup(func(ctx SpecContext) {
		for _, n := range names {
			_ = workload.DeletePod(ctx, fx.env.Client, fx.ns, n)
		}
	}, NodeTimeout(30*time.Second))
}

// eventuallyOnly keeps probing until the backends that answered are exactly
// want: every batch answered in full and by want alone, and every backend of
// want seen across the batches since the last stray answer.
func eventuallyOnly(ctx context.Context, p probe.Prober, req probe.Request, want []string, budget time.Duration) {
	GinkgoHelper()
	seen := map[string]bool{}
	Eventually(ctx, func(g Gomega) {
		res := probeResult(ctx, g, p, req)
		allAnswered(g, res, req.Target+" from "+p.Source())
		if !isSubset(res.Hostnames(), want) {
			clear(seen)
		}
		g.Expect(want).To(ContainElements(res.Hostnames()), "%s from %s answered by others than %v: %s", req.Target, p.Source(), want, res)
		for _, h := range res.Hostnames() {
			seen[h] = true
		}
		g.Expect(slices.Sorted(maps.Keys(seen))).To(ConsistOf(want), "%s from %s, last batch: %s", req.Target, p.Source(), res)
	}).WithTimeout(budget).WithPolling(poll).Should(Succeed())
}

// consistentlyTimesOut checks, for a few seconds, that every attempt of
// req times out: neither answered nor refused.
func consistentlyTimesOut(ctx context.Context, p probe.Prober, req probe.Request) {
	GinkgoHelper()
	req.Timeout = time.Second
	Consistently(ctx, func(g Gomega) {
		res := probeResult(ctx, g, p, req)
		g.Expect(res.Outcomes()).To(Equal([]probe.Outcome{probe.Timeout}), "%s from %s: want every attempt dropped: %s", req.Target, p.Source(), res)
	}).WithTimeout(5 * time.Second).WithPolling(time.Second).Should(Succeed())
}

func isSubset(got, of []string) bool {
	for _, g := range got {
		if !slices.Contains(of, g) {
			return false
		}
	}
	return true
}
