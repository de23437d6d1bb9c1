package workload

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// ServingGate is the readiness gate of gated agent pods (WithServingGate):
// such a pod is Ready only while this condition is True, which
// SetServingGate switches from the API.
const ServingGate corev1.PodConditionType = "svccheck.io/serving"

// WithPreStopSleep gives an agent pod a preStop hook that sleeps seconds and
// a grace period as long: once deleted, the pod is terminating for that
// long, its agent still serving and its readiness probe still passing.
func WithPreStopSleep(p *corev1.Pod, seconds int64) *corev1.Pod {
	p.Spec.TerminationGracePeriodSeconds = &seconds
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].Lifecycle = &corev1.Lifecycle{
			PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: seconds}},
		}
	}
	return p
}

// WithServingGate adds the ServingGate readiness gate to an agent pod.
// CreatePodObjects sets it True before waiting for the pod to be Ready.
func WithServingGate(p *corev1.Pod) *corev1.Pod {
	p.Spec.ReadinessGates = append(p.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: ServingGate})
	return p
}

// WithHTTPPort makes an agent pod serve HTTP on port instead of HTTPPort,
// and no UDP: for hostNetwork pods, which share the node's ports with
// others.
func WithHTTPPort(p *corev1.Pod, port int32) *corev1.Pod {
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		c.Command = []string{"svccheck", "agent", "serve", "--http-port", fmt.Sprint(port), "--udp-port", "0"}
		c.Ports = []corev1.ContainerPort{{Name: HTTPPortName, ContainerPort: port, Protocol: corev1.ProtocolTCP}}
		if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil {
			c.ReadinessProbe.HTTPGet.Port = intstr.FromInt32(port)
		}
	}
	return p
}

// WithOutOfWindowPort makes an agent pod also serve HTTP on TCP port and
// send each client of that port, once connected, a segment far outside
// the connection's window from a raw socket (svccheck agent serve
// --out-of-window-port; the container gets CAP_NET_RAW). The pod's log
// says what it sent and which RSTs came back.
func WithOutOfWindowPort(p *corev1.Pod, port int32) *corev1.Pod {
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		c.Command = append(c.Command, "--out-of-window-port", fmt.Sprint(port))
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: "oow", ContainerPort: port, Protocol: corev1.ProtocolTCP})
		if c.SecurityContext == nil {
			c.SecurityContext = &corev1.SecurityContext{}
		}
		c.SecurityContext.Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"NET_RAW"}}
	}
	return p
}

// CreatePodObjects creates pods (built with AgentPod and the With...
// helpers), sets the ServingGate of gated ones True, and waits until all
// are Ready, within timeout.
func CreatePodObjects(ctx context.Context, cs kubernetes.Interface, timeout time.Duration, pods ...*corev1.Pod) ([]*corev1.Pod, error) {
	if len(pods) == 0 {
		return nil, nil
	}
	ns := pods[0].Namespace
	names := make([]string, len(pods))
	for i, p := range pods {
		if _, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		names[i] = p.Name
	}
	for _, p := range pods {
		for _, g := range p.Spec.ReadinessGates {
			if g.ConditionType == ServingGate {
				if err := SetServingGate(ctx, cs, p.Namespace, p.Name, true); err != nil {
					return nil, err
				}
			}
		}
	}
	return WaitPodsReady(ctx, cs, ns, timeout, names...)
}

// SetServingGate sets the ServingGate condition of pod ns/name to serving,
// which makes a gated pod Ready or not Ready.
func SetServingGate(ctx context.Context, cs kubernetes.Interface, ns, name string, serving bool) error {
	status := corev1.ConditionFalse
	if serving {
		status = corev1.ConditionTrue
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cond := corev1.PodCondition{Type: ServingGate, Status: status, LastTransitionTime: metav1.Now()}
		set := false
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == ServingGate {
				p.Status.Conditions[i], set = cond, true
			}
		}
		if !set {
			p.Status.Conditions = append(p.Status.Conditions, cond)
		}
		_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("setting condition %s=%s on pod %s/%s: %w", ServingGate, status, ns, name, err)
	}
	return nil
}

// DeletePodGracefully deletes a pod with its own grace period, so a
// preStop hook keeps it terminating for a while.
func DeletePodGracefully(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	if err := cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("deleting pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// EvictPod evicts a pod through the Eviction API, with grace period 0.
func EvictPod(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	ev := &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Name: name, Namespace: ns},
		DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: new(int64)},
	}
	if err := cs.CoreV1().Pods(ns).EvictV1(ctx, ev); err != nil {
		return fmt.Errorf("evicting pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// EndpointConditions returns the conditions of each endpoint address of a
// Service across its EndpointSlices.
func EndpointConditions(ctx context.Context, cs kubernetes.Interface, ns, service string) (map[string]discoveryv1.EndpointConditions, error) {
	list, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return nil, fmt.Errorf("listing endpoint slices of %s/%s: %w", ns, service, err)
	}
	out := map[string]discoveryv1.EndpointConditions{}
	for _, s := range list.Items {
		for _, ep := range s.Endpoints {
			for _, a := range ep.Addresses {
				out[a] = ep.Conditions
			}
		}
	}
	return out, nil
}

// WaitEndpointConditions waits, within timeout, until the endpoint address
// of a Service has the given ready, serving and terminating conditions (an
// unset condition counts as its API default: ready and serving true,
// terminating false).
func WaitEndpointConditions(ctx context.Context, cs kubernetes.Interface, ns, service, address string, ready, serving, terminating bool, timeout time.Duration) error {
	var got map[string]discoveryv1.EndpointConditions
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		if got, err = EndpointConditions(ctx, cs, ns, service); err != nil {
			return false, nil
		}
		c, ok := got[address]
		return ok && orDefault(c.Ready, true) == ready && orDefault(c.Serving, true) == serving &&
			orDefault(c.Terminating, false) == terminating, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for endpoint %s of %s/%s to be ready=%t serving=%t terminating=%t (have %s): %w",
			address, ns, service, ready, serving, terminating, formatConditions(got), err)
	}
	return nil
}

func orDefault(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func formatConditions(m map[string]discoveryv1.EndpointConditions) string {
	s := ""
	for a, c := range m {
		s += fmt.Sprintf("%s ready=%t serving=%t terminating=%t; ", a,
			orDefault(c.Ready, true), orDefault(c.Serving, true), orDefault(c.Terminating, false))
	}
	if s == "" {
		return "no endpoints"
	}
	return s
}
