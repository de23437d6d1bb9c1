package diag

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Host pods: how svccheck reaches the nodes of a cluster that is not kind.
const (
	// HostPodBinary is where the svccheck image holds the binary.
	HostPodBinary = "/usr/local/bin/svccheck"
	// HostRoot is where a host pod mounts its node's root file system.
	HostRoot = "/host"
	// hostPodLabel marks host pods and their namespace.
	hostPodLabel = "app.kubernetes.io/name"
	hostPodValue = "svccheck-dump"
)

// HostPodHoldArgs and HostPodExecArgs are the svccheck command lines (after
// the binary) a host pod runs: hold keeps the pod alive (for a time given
// with --for, see HostPodHoldCommand); exec-host chroots into HostRoot and
// runs the rest of the arguments. Package app implements both as hidden
// dump subcommands.
var (
	HostPodHoldArgs = []string{"dump", "hold"}
	HostPodExecArgs = []string{"dump", "exec-host", "--"}
)

// HostPods runs one short-lived pod per node (host network, the node's
// root read-only at /host, NET_ADMIN, NET_RAW and SYS_CHROOT, tolerating
// every taint, pinned by nodeName, ended by the kubelet after Lifetime) in
// a namespace of its own, and runs node commands in them through the API
// server. Delete removes the namespace and with it the pods.
type HostPods struct {
	// Clientset and Config reach the cluster's API server.
	Clientset kubernetes.Interface
	Config    *rest.Config
	// Image is the svccheck image the pods run; the cluster must be able
	// to pull it (or have it already).
	Image string
	// Timeout bounds the wait for the pods to run.
	Timeout time.Duration
	// Lifetime bounds how long each pod lives (activeDeadlineSeconds, and
	// the hold command exits by itself), so a pod outlives a crashed or
	// disconnected svccheck by at most that. Zero means
	// DefaultHostPodLifetime.
	Lifetime time.Duration
	// RunID labels the namespace and pods (LabelRunID).
	RunID string

	mu        sync.Mutex
	namespace string
	pods      map[string]string // node -> pod name
	started   time.Time
}

// NodeFailure is a node whose host pod did not run.
type NodeFailure struct {
	// Node is the node's name.
	Node string
	// Err says why.
	Err error
}

// Namespace is the namespace Start created, empty before.
func (h *HostPods) Namespace() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.namespace
}

// Start creates the namespace and a pod on every node of the cluster,
// waits until they run, and returns the nodes whose pod runs, with a Cmder
// running commands in each node's root, and the nodes whose pod did not
// (a failed create, a pull error, a timeout), so one bad node costs only
// its own dump. The error is for no pod running at all. On error the
// caller still calls Delete.
func (h *HostPods) Start(ctx context.Context) ([]Node, []NodeFailure, error) {
	nodeList, err := h.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing nodes: %w", err)
	}
	h.mu.Lock()
	h.started = time.Now()
	h.mu.Unlock()
	ns, err := h.Clientset.CoreV1().Namespaces().Create(ctx, h.namespaceObject(), metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the host pods' namespace: %w", err)
	}
	h.mu.Lock()
	h.namespace, h.pods = ns.Name, map[string]string{}
	h.mu.Unlock()
	failed := map[string]error{}
	for _, n := range nodeList.Items {
		pod, err := h.Clientset.CoreV1().Pods(ns.Name).Create(ctx, h.podFor(n.Name), metav1.CreateOptions{})
		if err != nil {
			failed[n.Name] = fmt.Errorf("creating the host pod: %w", err)
			continue
		}
		h.mu.Lock()
		h.pods[n.Name] = pod.Name
		h.mu.Unlock()
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("creating the host pods: %w", err)
	}
	running, err := h.waitRunning(ctx, h.podNames(), failed)
	if err != nil {
		return nil, nil, err
	}
	nodes := make([]Node, 0, len(running))
	for _, node := range sortedKeys(running) {
		pod := PodCmder{Config: h.Config, Clientset: h.Clientset, Namespace: ns.Name, Pod: running[node], Container: "dump"}
		nodes = append(nodes, Node{Name: node, Cmder: newHostPodCmder(pod)})
	}
	failures := make([]NodeFailure, 0, len(failed))
	for _, node := range sortedKeys(failed) {
		failures = append(failures, NodeFailure{Node: node, Err: failed[node]})
	}
	if len(nodes) == 0 {
		errs := make([]error, len(failures))
		for i, f := range failures {
			errs[i] = fmt.Errorf("node %s: %w", f.Node, f.Err)
		}
		return nil, failures, fmt.Errorf("no host pod runs: %w", errors.Join(errs...))
	}
	return nodes, failures, nil
}

// podNames returns a copy of the node -> pod map.
func (h *HostPods) podNames() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.pods)
}

// Delete deletes the namespace of the host pods. It does nothing before
// Start.
func (h *HostPods) Delete(ctx context.Context) error {
	ns := h.Namespace()
	if ns == "" {
		return nil
	}
	grace := int64(0)
	err := h.Clientset.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil {
		return fmt.Errorf("deleting namespace %s of the host pods: %w", ns, err)
	}
	return nil
}

// waitRunning waits until every pod (node -> pod name) runs or has failed,
// and returns the running ones. A pod that cannot run (a pull error, a
// container that ended) or still does not run at the timeout goes into
// failed; the wait goes on for the others.
func (h *HostPods) waitRunning(ctx context.Context, pods map[string]string, failed map[string]error) (map[string]string, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ns := h.Namespace()
	pending, running := maps.Clone(pods), map[string]string{}
	last := map[string]error{}
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		for _, node := range sortedKeys(pending) {
			name := pending[node]
			pod, err := h.Clientset.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			switch {
			case err != nil:
				last[node] = fmt.Errorf("reading host pod %s: %w", name, err)
				continue
			case podProblem(pod) != nil:
				failed[node] = podProblem(pod)
			case pod.Status.Phase == corev1.PodRunning:
				running[node] = name
			default:
				last[node] = fmt.Errorf("host pod %s is %s", name, pod.Status.Phase)
				continue
			}
			delete(pending, node)
		}
		return len(pending) == 0, nil
	})
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("waiting for the host pods: %w", ctx.Err())
	}
	for node := range pending {
		why := last[node]
		if why == nil {
			why = errors.New("never seen")
		}
		failed[node] = fmt.Errorf("not running after %s: %w", timeout, why)
	}
	return running, nil
}

// podProblem returns why pod will not run, if it can tell.
func podProblem(pod *corev1.Pod) error {
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		return fmt.Errorf("pod %s ended (%s): %s", pod.Name, pod.Status.Phase, pod.Status.Message)
	}
	for _, st := range pod.Status.ContainerStatuses {
		if w := st.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
				return fmt.Errorf("cannot pull image %s (%s: %s); push the svccheck image to a registry the cluster can reach and pass --image",
					pod.Spec.Containers[0].Image, w.Reason, w.Message)
			case "CreateContainerError", "CreateContainerConfigError", "CrashLoopBackOff":
				return fmt.Errorf("%s: %s", w.Reason, w.Message)
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
