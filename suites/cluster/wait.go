package cluster

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/svccheck/svccheck/proxy"
)

// StepTimeout bounds each readiness wait of Create.
const StepTimeout = 3 * time.Minute

// readyStep is one thing Create waits for.
type readyStep struct {
	// what names the step in progress lines and errors.
	what string
	// diagnose describes, on a timeout, the state that explains it; nil for
	// nothing more than the last status.
	diagnose func(ctx context.Context) string
	// ready reports whether the step is done, and a short status otherwise.
	ready func(ctx context.Context) (bool, string, error)
}

// waitReady waits until every node, the Service proxy on every node and
// CoreDNS are Ready.
func (c *Cluster) waitReady(ctx context.Context, prog *progress) error {
	steps := []readyStep{{what: "nodes Ready", diagnose: c.diagnoseNodes, ready: c.nodesReady}}
	switch c.Proxy {
	case proxy.Svccheck:
		steps = append(steps, readyStep{what: "svccheck proxy Ready on every node", diagnose: c.podDiagnosis("k8s-app=" + ProxyName),
			ready: c.daemonSetReady(ProxyName)})
	default:
		steps = append(steps, readyStep{what: "kube-proxy Ready on every node", diagnose: c.podDiagnosis("k8s-app=kube-proxy"),
			ready: c.daemonSetReady("kube-proxy")})
	}
	steps = append(steps, readyStep{what: "CoreDNS Ready", diagnose: c.podDiagnosis("k8s-app=kube-dns"), ready: c.deploymentReady("coredns")})
	for _, s := range steps {
		if err := c.waitStep(ctx, prog, s); err != nil {
			return err
		}
	}
	return nil
}

// waitStep polls s until it is ready or StepTimeout passes; a timeout error
// carries the last status and what s.diagnose says.
func (c *Cluster) waitStep(ctx context.Context, prog *progress, s readyStep) error {
	status := ""
	err := wait.PollUntilContextTimeout(ctx, time.Second, StepTimeout, true, func(ctx context.Context) (bool, error) {
		ok, st, err := s.ready(ctx)
		if err != nil {
			// Transient API errors while the cluster settles: report the last one on timeout.
			status = err.Error()
			return false, nil
		}
		status = st
		return ok, nil
	})
	if err == nil {
		prog.step("%s", s.what)
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("waiting for %s: %w", s.what, ctxErr)
	}
	diag := ""
	if s.diagnose != nil {
		diag = diagnoseBounded(ctx, s.diagnose)
	}
	return fmt.Errorf("waiting for %s: timed out after %s (%s)%s", s.what, StepTimeout, status, diag)
}

// diagTimeout bounds gathering the diagnosis of a timed-out wait.
const diagTimeout = 30 * time.Second

// diagnoseBounded runs diagnose even when ctx is done (a timed-out wait is
// when it matters), within diagTimeout.
func diagnoseBounded(ctx context.Context, diagnose func(ctx context.Context) string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), diagTimeout)
	defer cancel()
	return diagnose(ctx)
}

// podDiagnosis returns a diagnosis of the kube-system pods matching
// selector (see diagnose).
func (c *Cluster) podDiagnosis(selector string) func(ctx context.Context) string {
	return func(ctx context.Context) string { return c.diagnose(ctx, selector) }
}

// nodesReady reports whether every node has condition Ready=True.
func (c *Cluster) nodesReady(ctx context.Context) (bool, string, error) {
	list, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, "", fmt.Errorf("listing nodes: %w", err)
	}
	return nodesReady(list.Items)
}

func nodesReady(nodes []corev1.Node) (bool, string, error) {
	var notReady []string
	for _, n := range nodes {
		if !nodeReady(n) {
			notReady = append(notReady, n.Name)
		}
	}
	if len(nodes) == 0 {
		return false, "no nodes registered", nil
	}
	if len(notReady) > 0 {
		return false, fmt.Sprintf("not Ready: %v", notReady), nil
	}
	return true, "", nil
}

func nodeReady(n corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// daemonSetReady returns a check that the kube-system DaemonSet name has
// an up-to-date Ready pod on every node.
func (c *Cluster) daemonSetReady(name string) func(ctx context.Context) (bool, string, error) {
	return func(ctx context.Context) (bool, string, error) {
		ds, err := c.Clientset.AppsV1().DaemonSets("kube-system").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", fmt.Errorf("reading DaemonSet %s: %w", name, err)
		}
		nodes, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", fmt.Errorf("listing nodes: %w", err)
		}
		ok, st := daemonSetReady(ds, len(nodes.Items))
		return ok, st, nil
	}
}

func daemonSetReady(ds *appsv1.DaemonSet, nodes int) (bool, string) {
	s := ds.Status
	st := fmt.Sprintf("%d of %d nodes Ready", s.NumberReady, nodes)
	ok := ds.Generation <= s.ObservedGeneration && nodes > 0 &&
		s.DesiredNumberScheduled == int32(nodes) && s.UpdatedNumberScheduled == int32(nodes) && s.NumberReady == int32(nodes)
	return ok, st
}

// deploymentReady returns a check that the kube-system Deployment name has
// all its replicas Ready.
func (c *Cluster) deploymentReady(name string) func(ctx context.Context) (bool, string, error) {
	return func(ctx context.Context) (bool, string, error) {
		d, err := c.Clientset.AppsV1().Deployments("kube-system").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", fmt.Errorf("reading Deployment %s: %w", name, err)
		}
		ok, st := deploymentReady(d)
		return ok, st, nil
	}
}

func deploymentReady(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := fmt.Sprintf("%d of %d replicas Ready", d.Status.ReadyReplicas, want)
	return want > 0 && d.Status.ReadyReplicas >= want, st
}
