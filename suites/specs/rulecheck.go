package specs

import (
	"context"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// skipUnlessRulesReadable skips a spec that reads the nodes' rules when the
// cluster's proxy keeps them where natRules cannot read them.
func skipUnlessRulesReadable() {
	GinkgoHelper()
	if mode := f.env.Proxy.Mode; mode.IPTables() || mode.NFTables() {
		return
	}
	Skip("reading the Service rules of proxy " + f.env.proxyDesc() + " is not supported")
}

// ruleOwner matches the rules of a Service of the spec's namespace that can
// send traffic: the iptables proxies name "ns/name:port" in their rules'
// comments; kube-proxy's nftables mode sends to a Service's chains from its
// maps ("goto service-HASH-ns/name/proto/port", "external-" for node ports)
// and leaves unreferenced chains of deleted Services for a later sync to
// remove, so there only the references count. The match never takes a
// Service's name as a prefix of another's.
func ruleOwner(service string) *regexp.Regexp {
	name := regexp.QuoteMeta(f.ns + "/" + service)
	if f.env.Proxy.Mode.NFTables() {
		return regexp.MustCompile(`(goto|jump) (service|external)-[A-Z0-9]+-` + name + `/|comment "` + name + `:`)
	}
	return regexp.MustCompile(name + `[:/" ]`)
}

// expectRules waits, node by node, until every node's rules hold the
// Services named in present and none of those in absent. A spec that checks
// a Service has no rules names a control Service in present, so that it
// reads rules the proxy has synced since that Service was created.
func expectRules(ctx context.Context, present, absent []string, budget time.Duration) {
	GinkgoHelper()
	for _, node := range f.env.Nodes {
		f.involve(node.Name)
		Eventually(ctx, func(g Gomega) {
			rules, err := natRules(ctx, node)
			g.Expect(err).NotTo(HaveOccurred())
			for _, s := range present {
				g.Expect(ruleOwner(s).MatchString(rules)).To(BeTrue(), "node %s has no rules for %s/%s", node.Name, f.ns, s)
			}
			for _, s := range absent {
				g.Expect(ruleOwner(s).FindString(rules)).To(BeEmpty(), "node %s has rules for %s/%s", node.Name, f.ns, s)
			}
		}).WithTimeout(budget).WithPolling(poll).Should(Succeed())
	}
}

// eventuallyUnanswered waits until no attempt of a probe batch is answered
// (the Service's rules are gone): refusals and timeouts both count.
func eventuallyUnanswered(ctx context.Context, p probe.Prober, req probe.Request, budget time.Duration) {
	GinkgoHelper()
	if req.Timeout == 0 {
		req.Timeout = time.Second
	}
	Eventually(ctx, func(g Gomega) {
		res := probeResult(ctx, g, p, req)
		g.Expect(res.Count(probe.Answered)).To(BeZero(), "%s %s from %s still answers: %s", req.Protocol, req.Target, p.Source(), res)
	}).WithTimeout(budget).WithPolling(poll).Should(Succeed())
}

// podFor returns the agent pod object for p in the spec's namespace, for
// specs that change it before creating it with createPods or createPod.
func (fx *fixture) podFor(p workload.Pod) *corev1.Pod {
	fx.involve(p.Node)
	return workload.AgentPod(fx.ns, fx.env.Image, p)
}

// createPod creates one pod made by podFor without waiting for it to be
// Ready.
func (fx *fixture) createPod(ctx context.Context, pod *corev1.Pod) {
	GinkgoHelper()
	_, err := fx.env.Client.CoreV1().Pods(fx.ns).Create(ctx, pod, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "creating pod %s", pod.Name)
}

// deleteService deletes a Service of the spec's namespace and waits until
// it is gone.
func (fx *fixture) deleteService(ctx context.Context, name string) {
	GinkgoHelper()
	svcs := fx.env.Client.CoreV1().Services(fx.ns)
	Expect(svcs.Delete(ctx, name, metav1.DeleteOptions{})).To(Succeed())
	Eventually(ctx, func() bool {
		_, err := svcs.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(steadyBudget).WithPolling(poll).Should(BeTrue(), "service %s/%s is not gone", fx.ns, name)
}
