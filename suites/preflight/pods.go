package preflight

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/svccheck/svccheck/suites/diag"
	"github.com/svccheck/svccheck/suites/workload"
)

// Pod Security labels (https://kubernetes.io/docs/concepts/security/pod-security-admission/).
const (
	// LabelPodSecurityEnforce sets the level a namespace's pods must meet.
	LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"
	// PodSecurityPrivileged is the level host pods need.
	PodSecurityPrivileged = "privileged"
)

// NamespaceLabels returns the labels svccheck's namespaces carry: managed
// by svccheck, the run id, and Pod Security level privileged, which host
// pods (host network, the node's root mounted) need.
func NamespaceLabels(runID string) map[string]string {
	return map[string]string{diag.LabelManagedBy: diag.ManagedBy, diag.LabelRunID: runID, LabelPodSecurityEnforce: PodSecurityPrivileged}
}

// nsAccess is what the Pod Security and image checks need.
var nsAccess = []Access{
	{Resource: "namespaces", Verb: "create"}, {Resource: "namespaces", Verb: "delete"}, {Resource: "namespaces", Verb: "list"},
	{Resource: "pods", Verb: "create"}, {Resource: "pods", Verb: "get"},
}

// checkWithNamespace creates a namespace labelled like svccheck's, asks
// admission about a host pod and a host-network agent pod there (dry run),
// starts one pod from the image, and deletes the namespace. It records the
// Pod Security and the image checks.
func (r *runner) checkWithNamespace(ctx context.Context) {
	if why := r.lacks(nsAccess...); why != "" {
		r.record(CheckResult{Name: CheckPodSecurity, Skipped: why})
		r.record(CheckResult{Name: CheckImage, Skipped: why})
		return
	}
	labels := maps.Clone(r.cfg.NamespaceLabels)
	labels["app.kubernetes.io/name"] = "svccheck-preflight"
	ns, err := r.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "svccheck-preflight-", Labels: labels},
	}, metav1.CreateOptions{})
	if err != nil {
		r.record(CheckResult{Name: CheckPodSecurity, Problems: []string{fmt.Sprintf(
			"creating a namespace labelled %s was refused: %v", formatLabels(r.cfg.NamespaceLabels), err)}})
		r.record(CheckResult{Name: CheckImage, Skipped: "no namespace to start its pod in"})
		return
	}
	defer r.deleteNamespace(ctx, ns.Name)
	c := r.checkPodSecurity(ctx, ns)
	c.Name = CheckPodSecurity
	r.record(c)
	if r.cfg.Image == "" {
		r.record(CheckResult{Name: CheckImage, Skipped: "no image given"})
		return
	}
	c = r.checkImage(ctx, ns.Name)
	c.Name = CheckImage
	r.record(c)
}

// checkPodSecurity checks ns kept its Pod Security level and that
// admission accepts the host pod and a host-network agent pod in it.
func (r *runner) checkPodSecurity(ctx context.Context, ns *corev1.Namespace) CheckResult {
	var problems []string
	want := r.cfg.NamespaceLabels[LabelPodSecurityEnforce]
	if got := ns.Labels[LabelPodSecurityEnforce]; got != want {
		problems = append(problems, fmt.Sprintf("namespace %s was created with %s=%q but has %q: an admission webhook changed it",
			ns.Name, LabelPodSecurityEnforce, want, got))
	}
	node := "preflight-node"
	if len(r.workers) > 0 {
		node = r.workers[0]
	}
	host := (&diag.HostPods{Image: r.image(), RunID: r.cfg.RunID}).PodObject(node)
	agent := workload.AgentPod(ns.Name, r.image(), workload.Pod{Name: "preflight-agent", Node: node, HostNetwork: true})
	for _, p := range []struct {
		what string
		pod  *corev1.Pod
	}{{"host pod (host network, the node's / read-only, NET_ADMIN, NET_RAW, SYS_CHROOT)", host}, {"host-network agent pod", agent}} {
		p.pod.Namespace = ns.Name
		err := r.createPod(ctx, p.pod, true)
		if err != nil {
			problems = append(problems, fmt.Sprintf("the cluster refuses svccheck's %s in a namespace labelled %s: %v",
				p.what, formatLabels(r.cfg.NamespaceLabels), err))
		}
	}
	if len(problems) > 0 {
		return CheckResult{Problems: problems}
	}
	return CheckResult{Detail: fmt.Sprintf("host pods admitted (dry run) in a namespace labelled %s=%s", LabelPodSecurityEnforce, want)}
}

// image is the image the dry-run pods name: the configured one, or a
// placeholder when the image check is skipped.
func (r *runner) image() string {
	if r.cfg.Image != "" {
		return r.cfg.Image
	}
	return "svccheck.local/svccheck:preflight"
}

// createPod creates pod (as a server-side dry run if dryRun), retrying
// while the namespace's default ServiceAccount does not exist yet.
func (r *runner) createPod(ctx context.Context, pod *corev1.Pod, dryRun bool) error {
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := r.cs.CoreV1().Pods(pod.Namespace).Create(ctx, pod, opts)
		// Until the namespace's default ServiceAccount exists, admission
		// refuses pods that would use it.
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "serviceaccount") {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the namespace's default ServiceAccount did not appear within 30s (does kube-controller-manager run?): %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (before: %w)", ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// checkImage starts one pod from the image (svccheck's hold command for a
// second) and waits until it runs or ends well, cannot pull, or the
// timeout passes.
func (r *runner) checkImage(ctx context.Context, ns string) CheckResult {
	pod := r.imagePod(ns)
	if err := r.createPod(ctx, pod, false); err != nil {
		return CheckResult{Problems: []string{fmt.Sprintf("creating a pod from %s: %v", r.cfg.Image, err)}}
	}
	start := time.Now()
	var state string
	var problem error
	err := wait.PollUntilContextTimeout(ctx, time.Second, r.cfg.PullTimeout, true, func(ctx context.Context) (bool, error) {
		p, err := r.cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			state = err.Error()
			return false, nil
		}
		state, problem = imagePodState(p)
		return problem != nil || p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded, nil
	})
	switch {
	case problem != nil:
		return CheckResult{Problems: []string{problem.Error()}}
	case err != nil:
		return CheckResult{Problems: []string{fmt.Sprintf("a pod from %s did not run within %s (%s); the nodes may be slow to pull it, "+
			"or unable to: push the svccheck image to a registry the cluster can reach (svccheck image save) and pass --image",
			r.cfg.Image, r.cfg.PullTimeout, state)}}
	}
	return CheckResult{Detail: fmt.Sprintf("a pod from %s ran on %s after %s", r.cfg.Image, state, time.Since(start).Round(time.Second))}
}

// imagePodState says where the image pod is (its node when it runs) and
// returns an error when it cannot run.
func imagePodState(p *corev1.Pod) (string, error) {
	for _, st := range p.Status.ContainerStatuses {
		if w := st.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
				return w.Reason, fmt.Errorf("node %s cannot pull %s: %s: %s; push the svccheck image to a registry the cluster "+
					"can reach (svccheck image save) and pass --image", p.Spec.NodeName, p.Spec.Containers[0].Image, w.Reason, w.Message)
			case "CreateContainerError", "CreateContainerConfigError", "CrashLoopBackOff", "RunContainerError":
				return w.Reason, fmt.Errorf("a pod from %s does not start on node %s: %s: %s", p.Spec.Containers[0].Image, p.Spec.NodeName, w.Reason, w.Message)
			}
		}
		if t := st.State.Terminated; t != nil && t.ExitCode != 0 {
			return t.Reason, fmt.Errorf("svccheck in %s failed on node %s: exit %d (%s): %s; is the image built for this node's architecture?",
				p.Spec.Containers[0].Image, p.Spec.NodeName, t.ExitCode, t.Reason, t.Message)
		}
	}
	if p.Status.Phase == corev1.PodFailed {
		return string(p.Status.Phase), fmt.Errorf("the pod from %s failed: %s: %s", p.Spec.Containers[0].Image, p.Status.Reason, p.Status.Message)
	}
	if p.Spec.NodeName != "" && (p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded) {
		return p.Spec.NodeName, nil
	}
	return string(p.Status.Phase), nil
}

// imagePod runs svccheck's hold command for a second, with no privileges.
func (r *runner) imagePod(ns string) *corev1.Pod {
	deadline := int64((r.cfg.PullTimeout + 30*time.Second) / time.Second)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "image-check", Namespace: ns, Labels: map[string]string{
			diag.LabelManagedBy: diag.ManagedBy, diag.LabelRunID: r.cfg.RunID}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         &deadline,
			NodeSelector:                  map[string]string{corev1.LabelOSStable: "linux"},
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To(int64(0)),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(65534)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            "image-check",
				Image:           r.cfg.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         append([]string{diag.HostPodBinary}, diag.HostPodHoldCommand(time.Second)...),
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

// deleteNamespace deletes the preflight's namespace, its pod first (at
// once: it may never have started), and waits a little for it to go. A
// namespace still terminating then is a warning, not a problem: the run
// does not need it gone.
func (r *runner) deleteNamespace(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteWait)
	defer cancel()
	now := metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}
	err := r.cs.CoreV1().Pods(name).Delete(ctx, "image-check", now)
	if err == nil || apierrors.IsNotFound(err) {
		err = r.cs.CoreV1().Namespaces().Delete(ctx, name, now)
	}
	if err == nil {
		err = waitGone(ctx, r.cs, name)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("the preflight's namespace %s is not gone yet: %v "+
			"(it goes by itself; svccheck cleanup --run %s removes it otherwise)", name, err, r.cfg.RunID))
	}
}

// deleteWait bounds the wait for the preflight's namespace to go.
const deleteWait = 20 * time.Second

// errStillThere is returned while a namespace is being deleted.
var errStillThere = errors.New("still there")

func formatLabels(l map[string]string) string {
	return metav1.FormatLabelSelector(metav1.SetAsLabelSelector(l))
}
