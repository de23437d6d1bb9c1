package workload

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Ports the agent serves in backend pods.
const (
	// HTTPPort serves the agent's HTTP echo (/hostname, /clientip, /echo)
	// and /healthz.
	HTTPPort = 8080
	// UDPPort serves the agent's UDP echo.
	UDPPort = 8081
	// HTTPPortName and UDPPortName name the container ports, for Services
	// with a named targetPort.
	HTTPPortName = "http"
	UDPPortName  = "udp"
)

// ManagedLabel marks every namespace svccheck's specs create.
const ManagedLabel = "svccheck.io/e2e"

// Pod describes one agent pod.
type Pod struct {
	// Name is the pod name, which the agent reports as its hostname.
	Name string
	// Node pins the pod to a node (spec.nodeName); empty lets the
	// scheduler choose.
	Node string
	// Labels are the pod's labels (Service selectors match them).
	Labels map[string]string
	// HostNetwork runs the pod in the node's network namespace; the agent
	// then listens on the node's ports.
	HostNetwork bool
	// HTTPPort and UDPPort override the agent's ports (HTTPPort, UDPPort);
	// the container ports keep their names, so a named targetPort resolves
	// to the overridden number on this pod.
	HTTPPort, UDPPort int32
}

// AgentPod returns the pod object for p running `svccheck agent serve` from
// image in namespace ns. It tolerates every taint, so it can be pinned to
// the control-plane node too.
func AgentPod(ns, image string, p Pod) *corev1.Pod {
	httpPort, udpPort := int32(HTTPPort), int32(UDPPort)
	if p.HTTPPort != 0 {
		httpPort = p.HTTPPort
	}
	if p.UDPPort != 0 {
		udpPort = p.UDPPort
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns, Labels: maps.Clone(p.Labels)},
		Spec: corev1.PodSpec{
			NodeName:                      p.Node,
			HostNetwork:                   p.HostNetwork,
			TerminationGracePeriodSeconds: new(int64),
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name:            "agent",
				Image:           image,
				ImagePullPolicy: PullPolicy(image),
				Command: []string{"svccheck", "agent", "serve",
					"--http-port", fmt.Sprint(httpPort), "--udp-port", fmt.Sprint(udpPort)},
				Ports: []corev1.ContainerPort{
					{Name: HTTPPortName, ContainerPort: httpPort, Protocol: corev1.ProtocolTCP},
					{Name: UDPPortName, ContainerPort: udpPort, Protocol: corev1.ProtocolUDP},
				},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Path: "/healthz", Port: intstr.FromInt32(httpPort),
					}},
					PeriodSeconds:    1,
					FailureThreshold: 1,
				},
			}},
		},
	}
}

// SideLoadedRegistry is the registry part of the svccheck image names
// `svccheck cluster create` side-loads into kind nodes: no registry serves
// it, so pods never pull it.
const SideLoadedRegistry = "svccheck.local/"

// PullPolicy returns the pull policy of agent pods running image: Never
// for an image side-loaded into the nodes (SideLoadedRegistry), else
// IfNotPresent, so a cluster pulls an image pushed to a registry once.
func PullPolicy(image string) corev1.PullPolicy {
	if strings.HasPrefix(image, SideLoadedRegistry) {
		return corev1.PullNever
	}
	return corev1.PullIfNotPresent
}

// CreatePods creates an agent pod for each of pods and waits until all are
// Ready, within timeout. It returns the pods as last read.
func CreatePods(ctx context.Context, cs kubernetes.Interface, ns, image string, timeout time.Duration, pods ...Pod) ([]*corev1.Pod, error) {
	for _, p := range pods {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, AgentPod(ns, image, p), metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating pod %s/%s: %w", ns, p.Name, err)
		}
	}
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Name
	}
	return WaitPodsReady(ctx, cs, ns, timeout, names...)
}

// WaitPodsReady waits until every named pod is Ready, within timeout.
func WaitPodsReady(ctx context.Context, cs kubernetes.Interface, ns string, timeout time.Duration, names ...string) ([]*corev1.Pod, error) {
	out := make([]*corev1.Pod, len(names))
	var last error
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for i, name := range names {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				last = err
				return false, nil
			}
			if !podReady(p) {
				last = fmt.Errorf("pod %s/%s is %s: %s", ns, name, p.Status.Phase, podWaitReason(p))
				return false, nil
			}
			out[i] = p
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for pods %v in %s to be ready: %w (last: %v)", names, ns, err, last) //nolint:errorlint // the last poll error is context, not the cause
	}
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podWaitReason(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			return w.Reason + " " + w.Message
		}
		if t := cs.State.Terminated; t != nil {
			return fmt.Sprintf("terminated %s (exit %d) %s", t.Reason, t.ExitCode, t.Message)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			return c.Message
		}
	}
	return "not ready"
}

// DeletePod deletes a pod at once (grace period 0).
func DeletePod(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	if err := cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		return fmt.Errorf("deleting pod %s/%s: %w", ns, name, err)
	}
	return nil
}
