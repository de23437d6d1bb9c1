package specs

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// tracedPrefix returns the chain prefix of the cluster's iptables proxy,
// skipping the spec when the proxy keeps its rules elsewhere.
func tracedPrefix() string {
	GinkgoHelper()
	prefix := chainPrefix()
	if prefix == "" {
		Skip("tracing rules needs an iptables proxy (svccheck's, or kube-proxy in iptables mode), not " + f.env.proxyDesc())
	}
	return prefix
}

// ruleTracer traces packets through node's proxy rules.
func (fx *fixture) ruleTracer(node Node, prefix string) *probe.RuleTracer {
	fx.involve(node.Name)
	return &probe.RuleTracer{Name: node.Name, Cmder: node.Cmder, LocalAddrs: []string{node.IP}, ChainPrefix: prefix}
}

// eventuallyTraced traces a connection from src to target through node's
// rules until check passes, and returns the last result.
func eventuallyTraced(ctx context.Context, t *probe.RuleTracer, src, target string, check func(Gomega, *iptrace.Result)) *iptrace.Result {
	GinkgoHelper()
	var res *iptrace.Result
	Eventually(ctx, func(g Gomega) {
		var err error
		res, err = t.TraceFrom(ctx, probe.TCP, src, target)
		g.Expect(err).NotTo(HaveOccurred())
		check(g, res)
	}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
	return res
}

// endpointsOf returns the pods' HTTP endpoints, "ip:port".
func endpointsOf(pods ...*corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = hostPort(p.Status.PodIP, workload.HTTPPort)
	}
	return out
}

var _ = Describe("Rules agree with packets", Label(LabelRules), func() {
	It("sends NodePort connections where each node's rules say", Label(LabelNodePort), func(ctx SpecContext) {
		prefix := tracedPrefix()
		backends := f.backends(ctx, "nptraced", 2)
		svc := f.service(ctx, workload.Service("", "nptraced", corev1.ServiceTypeNodePort, map[string]string{"app": "nptraced"}, workload.HTTPServicePort(80)))
		port := svc.Spec.Ports[0].NodePort
		client := f.env.Nodes[0]
		for _, n := range f.env.Nodes {
			target := hostPort(n.IP, port)
			By(fmt.Sprintf("tracing %s -> %s through the rules of %s", client.Name, target, n.Name))
			eventuallyTraced(ctx, f.ruleTracer(n, prefix), client.IP, target, func(g Gomega, res *iptrace.Result) {
				g.Expect(res.Endpoints()).To(ConsistOf(endpointsOf(backends...)), "traced paths:\n%s", res)
				all, _ := res.Masqueraded()
				g.Expect(all).To(BeTrue(), "externalTrafficPolicy Cluster traffic not masqueraded on every path:\n%s", res)
			})
			By("sending real connections: they must reach the same backends")
			eventuallySeesAll(ctx, f.fromNode(client), probe.Request{Target: target, Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)
		}
	})

	It("sends externalTrafficPolicy Local connections only where each node's rules say", Label(LabelETPLocal), func(ctx SpecContext) {
		prefix := tracedPrefix()
		e := newETPLocal(ctx)
		want := endpointsOf(e.backend)
		for _, n := range f.env.Nodes {
			target := e.target(n)
			tracer := f.ruleTracer(n, prefix)
			switch n.Name {
			case e.withEP.Name:
				By(fmt.Sprintf("tracing %s -> %s: the local endpoint, the source kept", e.client.Name, target))
				eventuallyTraced(ctx, tracer, e.client.IP, target, func(g Gomega, res *iptrace.Result) {
					g.Expect(res.Endpoints()).To(Equal(want), "traced paths:\n%s", res)
					_, any := res.Masqueraded()
					g.Expect(any).To(BeFalse(), "a path masquerades:\n%s", res)
				})
				res := eventuallyAnswered(ctx, f.fromNode(e.client), probe.Request{Target: target, Protocol: probe.HTTP, Count: 3}, programBudget)
				Expect(res.Hostnames()).To(Equal([]string{e.backend.Name}))
				Expect(res.Clients()).To(Equal([]string{e.client.IP}), "the rules keep the source, the backend saw another")
			case e.client.Name:
				By(fmt.Sprintf("tracing %s -> %s, the node's own traffic: any endpoint, masqueraded", e.client.Name, target))
				eventuallyTraced(ctx, tracer, e.client.IP, target, func(g Gomega, res *iptrace.Result) {
					g.Expect(res.Endpoints()).To(Equal(want), "traced paths:\n%s", res)
				})
				res := eventuallyAnswered(ctx, f.fromNode(e.client), probe.Request{Target: target, Protocol: probe.HTTP, Count: 3}, programBudget)
				Expect(res.Hostnames()).To(Equal([]string{e.backend.Name}))
			default:
				By(fmt.Sprintf("tracing %s -> %s: no local endpoint, no path", e.client.Name, target))
				eventuallyTraced(ctx, tracer, e.client.IP, target, func(g Gomega, res *iptrace.Result) {
					g.Expect(res.Endpoints()).To(BeEmpty(), "traced paths:\n%s", res)
					g.Expect(res.Verdicts()).To(Equal([]iptrace.Verdict{iptrace.VerdictDrop}), "traced paths:\n%s", res)
				})
				Consistently(ctx, func(g Gomega) {
					res := probeResult(ctx, g, f.fromNode(e.client), probe.Request{Target: target, Protocol: probe.HTTP, Count: 2, Timeout: time.Second})
					g.Expect(res.Count(probe.Answered)).To(BeZero(), "%s answered though its rules drop: %s", n.Name, res)
				}).WithTimeout(4 * time.Second).WithPolling(2 * time.Second).Should(Succeed())
			}
		}
	})

	It("sends a ClientIP affinity client back to its backend by the recent path of the node's rules", Label(LabelAffinity), func(ctx SpecContext) {
		prefix := tracedPrefix()
		backends := f.backends(ctx, "stickytraced", 3)
		svc := workload.Service("", "stickytraced", corev1.ServiceTypeClusterIP, map[string]string{"app": "stickytraced"}, workload.HTTPServicePort(80))
		setAffinity(svc, true, 0)
		svc = f.service(ctx, svc)
		node := f.worker(1)
		tracer := f.ruleTracer(node, prefix)
		target := hostPort(svc.Spec.ClusterIP, 80)

		By("tracing a first connection: any backend, each path recording the client in a recent list")
		lists := map[string]string{} // endpoint -> its recent list
		eventuallyTraced(ctx, tracer, node.IP, target, func(g Gomega, res *iptrace.Result) {
			g.Expect(res.Endpoints()).To(ConsistOf(endpointsOf(backends...)), "traced paths:\n%s", res)
			for _, p := range res.Paths {
				g.Expect(p.RecentSet).To(HaveLen(1), "path to %s records the client in %d recent lists:\n%s", p.Destination, len(p.RecentSet), res)
				lists[p.Destination] = p.RecentSet[0]
			}
		})

		By("sending real connections from " + node.Name + ": they stick to one backend")
		res := eventuallyAnswered(ctx, f.fromNode(node), probe.Request{Target: target, Protocol: probe.HTTP, Count: affinityBatch}, programBudget)
		Expect(res.Hostnames()).To(HaveLen(1), "requests spread over backends: %s", res)
		var stuck string
		for _, p := range backends {
			if p.Name == res.Hostnames()[0] {
				stuck = endpointsOf(p)[0]
			}
		}

		By("reading the node's recent lists: only " + stuck + "'s holds the client")
		holders := recentHolders(ctx, node, lists)
		Expect(holders).To(HaveLen(1), "the node's recent lists holding a client, want only the one of %s: %v", stuck, holders)
		src, ok := holders[stuck]
		Expect(ok).To(BeTrue(), "the recent list holding a client is not the one of the backend that answered (%s): %v", stuck, holders)

		By("tracing the next connection from " + src + " with the node's recent lists: only " + stuck + ", by a recent check")
		tr, err := tracer.Rules(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(tr.AddRecent(lists[stuck], src)).To(Succeed())
		pkt, err := tracer.Packet(probe.TCP, src, target)
		Expect(err).NotTo(HaveOccurred())
		pkt.Local = true // the node's own connection, whatever address it left from
		again, err := tr.Trace(pkt)
		Expect(err).NotTo(HaveOccurred())
		Expect(again.Endpoints()).To(Equal([]string{stuck}), "traced paths:\n%s", again)
		for _, p := range again.Paths {
			Expect(recentChecked(p)).To(BeTrue(), "path to %s took no recent check:\n%s", p.Destination, again)
		}
	})
})

// recentHolders reads the node's recent lists (endpoint -> list) in one
// command and returns, for each endpoint whose list holds a client, the
// first client address ("src=172.18.0.3 ttl: 64 ...").
func recentHolders(ctx context.Context, node Node, lists map[string]string) map[string]string {
	GinkgoHelper()
	byList := map[string]string{}
	args := []string{"-c", `grep -H src= "$@" || true`, "sh"}
	for ep, list := range lists {
		byList["/proc/net/xt_recent/"+list] = ep
		args = append(args, "/proc/net/xt_recent/"+list)
	}
	out, err := nodeOutput(ctx, node, "sh", args...)
	Expect(err).NotTo(HaveOccurred())
	holders := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		file, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if a, ok := strings.CutPrefix(f, "src="); ok && holders[byList[file]] == "" {
				holders[byList[file]] = a
			}
		}
	}
	return holders
}

// recentChecked reports whether path matched a rule that checks a recent
// list (--rcheck or --update): the affinity path.
func recentChecked(p iptrace.Path) bool {
	for _, s := range p.Trace {
		if strings.Contains(s.Text, "-m recent") && (strings.Contains(s.Text, "--rcheck") || strings.Contains(s.Text, "--update")) {
			return true
		}
	}
	return false
}
