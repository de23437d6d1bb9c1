package specs

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/svccheck/svccheck/suites/diag"
	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// manyServices is how many Services the churn spec creates and deletes.
const manyServices = 20

// restartBudget bounds how long the proxy's pods may take to come back.
const restartBudget = 90 * time.Second

var _ = Describe("Service lifecycle", Label(LabelClusterIP), func() {
	It("works again when deleted and recreated under the same name", func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "again", 2)
		mk := func() *corev1.Service {
			return f.service(ctx, workload.Service("", "again", corev1.ServiceTypeClusterIP, map[string]string{"app": "again"}, workload.HTTPServicePort(80)))
		}
		first := mk()
		eventuallySeesAll(ctx, client, probe.Request{Target: hostPort(first.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)

		By("deleting the Service and creating it again")
		f.deleteService(ctx, "again")
		second := mk()
		eventuallySeesAll(ctx, client, probe.Request{Target: hostPort(second.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)
	})

	It(fmt.Sprintf("leaves no rules behind after %d Services come and go", manyServices), Label(LabelRules), func(ctx SpecContext) {
		skipUnlessRulesReadable()
		f.backends(ctx, "churn", 1)
		names := make([]string, manyServices)
		for i := range names {
			names[i] = fmt.Sprintf("churn-%02d", i)
			f.service(ctx, workload.Service("", names[i], corev1.ServiceTypeClusterIP, map[string]string{"app": "churn"}, workload.HTTPServicePort(80)))
		}
		By("waiting until every node holds rules for all of them")
		expectRules(ctx, names, nil, programBudget)

		By("deleting them all: every node drops their rules")
		for _, n := range names {
			Expect(f.env.Client.CoreV1().Services(f.ns).Delete(ctx, n, metav1.DeleteOptions{})).To(Succeed())
		}
		expectRules(ctx, nil, names, programBudget)
	})

	It("keeps answering while the proxy restarts, and programs a Service created meanwhile", Label(LabelDisruptive), func(ctx SpecContext) {
		if !f.env.Proxy.Mode.Known() {
			Skip("restarting the proxy needs its DaemonSet (svccheck-proxy or kube-proxy), and the cluster runs " + f.env.proxyDesc())
		}
		backends, client := f.withClient(ctx, "steady", 2)
		steady := f.service(ctx, workload.Service("", "steady", corev1.ServiceTypeClusterIP, map[string]string{"app": "steady"}, workload.HTTPServicePort(80)))
		req := probe.Request{Target: hostPort(steady.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 3}
		eventuallySeesAll(ctx, client, req, podNames(backends), programBudget)

		By("deleting the proxy's pods")
		old := deleteProxyPods(ctx)
		late := f.service(ctx, workload.Service("", "late", corev1.ServiceTypeClusterIP, map[string]string{"app": "steady"}, workload.HTTPServicePort(80)))

		By("probing the steady Service until new proxy pods are ready on every node")
		done := make(chan error, 1)
		go func() { done <- waitProxyReplaced(ctx, old) }()
		for waiting := true; waiting; {
			select {
			case err := <-done:
				Expect(err).NotTo(HaveOccurred())
				waiting = false
			default:
				res := probeResult(ctx, Default, client, req)
				allAnswered(Default, res, "the steady Service during the proxy restart")
			}
		}

		By("reaching the Service created during the restart")
		eventuallySeesAll(ctx, client, probe.Request{Target: hostPort(late.Spec.ClusterIP, 80), Protocol: probe.HTTP, Count: 8}, podNames(backends), programBudget)
		allAnswered(Default, probeResult(ctx, Default, client, req), "the steady Service after the proxy restart")
	})
})

// proxyDaemonSet names the DaemonSet that runs the cluster's proxy.
func proxyDaemonSet() string {
	if f.env.Proxy.Mode.IsKubeProxy() {
		return diag.KubeProxyDaemonSet
	}
	return diag.SvccheckProxyDaemonSet
}

// deleteProxyPods deletes every pod of the proxy's DaemonSet and returns
// their UIDs.
func deleteProxyPods(ctx context.Context) map[types.UID]bool {
	GinkgoHelper()
	cs := f.env.Client
	ds, err := cs.AppsV1().DaemonSets(diag.ProxyNamespace).Get(ctx, proxyDaemonSet(), metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred(), "reading the proxy DaemonSet")
	sel := metav1.FormatLabelSelector(ds.Spec.Selector)
	pods, err := cs.CoreV1().Pods(diag.ProxyNamespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	Expect(err).NotTo(HaveOccurred())
	Expect(pods.Items).NotTo(BeEmpty(), "no pods match %s", sel)
	old := map[types.UID]bool{}
	for _, p := range pods.Items {
		old[p.UID] = true
		f.involve(p.Spec.NodeName)
		Expect(cs.CoreV1().Pods(diag.ProxyNamespace).Delete(ctx, p.Name, metav1.DeleteOptions{})).To(Succeed())
	}
	return old
}

// waitProxyReplaced waits until the proxy's DaemonSet runs a ready pod,
// none of them in old, on every node it schedules to.
func waitProxyReplaced(ctx context.Context, old map[types.UID]bool) error {
	cs := f.env.Client
	deadline := time.Now().Add(restartBudget)
	for {
		ds, err := cs.AppsV1().DaemonSets(diag.ProxyNamespace).Get(ctx, proxyDaemonSet(), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading the proxy DaemonSet: %w", err)
		}
		pods, err := cs.CoreV1().Pods(diag.ProxyNamespace).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(ds.Spec.Selector)})
		if err != nil {
			return fmt.Errorf("listing the proxy pods: %w", err)
		}
		fresh := 0
		for i := range pods.Items {
			if p := &pods.Items[i]; !old[p.UID] && p.DeletionTimestamp == nil && isReady(p) {
				fresh++
			}
		}
		if fresh >= int(ds.Status.DesiredNumberScheduled) && fresh > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s, %d of %d proxy pods are new and ready", restartBudget, fresh, ds.Status.DesiredNumberScheduled)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
