package diag

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
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
// the binary) a host pod runs: hold keeps the pod alive until it is
// deleted; exec-host chroots into HostRoot and runs the rest of the
// arguments. Package app implements both as hidden dump subcommands.
var (
	HostPodHoldArgs = []string{"dump", "hold"}
	HostPodExecArgs = []string{"dump", "exec-host", "--"}
)

// HostPods runs one short-lived privileged pod per node (hostNetwork,
// hostPID, the node's root at /host, tolerating every taint, pinned by
// nodeName) in a namespace of its own, and runs node commands in them
// through the API server. Delete removes the namespace and with it the pods.
type HostPods struct {
	// Clientset and Config reach the cluster's API server.
	Clientset kubernetes.Interface
	Config    *rest.Config
	// Image is the svccheck image the pods run; the cluster must be able
	// to pull it (or have it already).
	Image string
	// Timeout bounds the wait for the pods to run.
	Timeout time.Duration

	namespace string
}

// Namespace is the namespace Start created, empty before.
func (h *HostPods) Namespace() string { return h.namespace }

// Start creates the namespace and a pod on every node of the cluster,
// waits until all of them run, and returns the nodes with a Cmder running
// commands in each node's root. On error the caller still calls Delete.
func (h *HostPods) Start(ctx context.Context) ([]Node, error) {
	nodeList, err := h.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	ns, err := h.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "svccheck-dump-",
		Labels: map[string]string{
			hostPodLabel:                         hostPodValue,
			"pod-security.kubernetes.io/enforce": "privileged",
		},
	}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating the host pods' namespace: %w", err)
	}
	h.namespace = ns.Name
	pods := map[string]string{}
	for _, n := range nodeList.Items {
		pod, err := h.Clientset.CoreV1().Pods(h.namespace).Create(ctx, h.podFor(n.Name), metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("creating the host pod for node %s: %w", n.Name, err)
		}
		pods[n.Name] = pod.Name
	}
	if err := h.waitRunning(ctx, pods); err != nil {
		return nil, err
	}
	var nodes []Node
	for node, pod := range pods {
		nodes = append(nodes, Node{Name: node, Cmder: &PodCmder{
			Config: h.Config, Clientset: h.Clientset, Namespace: h.namespace, Pod: pod, Container: "dump",
			Prefix: append([]string{HostPodBinary}, HostPodExecArgs...),
		}})
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}

// Delete deletes the namespace of the host pods and waits (up to the
// timeout) until it is gone. It does nothing before Start.
func (h *HostPods) Delete(ctx context.Context) error {
	if h.namespace == "" {
		return nil
	}
	grace := int64(0)
	err := h.Clientset.CoreV1().Namespaces().Delete(ctx, h.namespace, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil {
		return fmt.Errorf("deleting namespace %s of the host pods: %w", h.namespace, err)
	}
	return nil
}

func (h *HostPods) podFor(node string) *corev1.Pod {
	hostPathType := corev1.HostPathDirectory
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "dump-",
			Labels:       map[string]string{hostPodLabel: hostPodValue},
		},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			HostNetwork:                   true,
			HostPID:                       true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			AutomountServiceAccountToken:  ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To(int64(1)),
			Containers: []corev1.Container{{
				Name:            "dump",
				Image:           h.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         append([]string{HostPodBinary}, HostPodHoldArgs...),
				SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
				VolumeMounts:    []corev1.VolumeMount{{Name: "host", MountPath: HostRoot}},
			}},
			Volumes: []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: "/", Type: &hostPathType},
			}}},
		},
	}
}

// waitRunning waits until every pod (node -> pod name) runs, failing fast
// on an image that cannot be pulled.
func (h *HostPods) waitRunning(ctx context.Context, pods map[string]string) error {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		for node, name := range pods {
			pod, err := h.Clientset.CoreV1().Pods(h.namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				last = fmt.Errorf("reading host pod %s: %w", name, err)
				return false, nil
			}
			if err := podProblem(pod); err != nil {
				return false, fmt.Errorf("host pod on node %s: %w", node, err)
			}
			if pod.Status.Phase != corev1.PodRunning {
				last = fmt.Errorf("host pod on node %s is %s", node, pod.Status.Phase)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil && last != nil && (errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err)) {
		return fmt.Errorf("waiting for the host pods: %w (last: %v)", err, last) //nolint:errorlint // the last poll error is context, not the cause
	}
	if err != nil {
		return fmt.Errorf("waiting for the host pods: %w", err)
	}
	return nil
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
