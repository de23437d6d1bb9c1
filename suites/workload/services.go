package workload

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// HTTPServicePort is a Service port named "http" on port, forwarding to the
// agent's HTTP port by name.
func HTTPServicePort(port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: "http", Port: port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString(HTTPPortName)}
}

// UDPServicePort is a Service port named "udp" on port, forwarding to the
// agent's UDP port by name.
func UDPServicePort(port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: "udp", Port: port, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString(UDPPortName)}
}

// Service returns a Service of type typ selecting selector, with ports.
func Service(ns, name string, typ corev1.ServiceType, selector map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Type: typ, Selector: selector, Ports: ports},
	}
}

// CreateService creates svc and returns it as the API server stored it
// (with its ClusterIP and node ports filled in).
func CreateService(ctx context.Context, cs kubernetes.Interface, svc *corev1.Service) (*corev1.Service, error) {
	out, err := cs.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return out, nil
}

// UpdateService reads the named Service, applies mutate and writes it back,
// retrying on conflicts. It returns the stored Service.
func UpdateService(ctx context.Context, cs kubernetes.Interface, ns, name string, mutate func(*corev1.Service)) (*corev1.Service, error) {
	var out *corev1.Service
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		mutate(svc)
		out, err = cs.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{})
		switch {
		case err == nil:
			return true, nil
		case apierrors.IsConflict(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
			apierrors.IsTooManyRequests(err), apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err):
			lastErr = err
			return false, nil // written meanwhile, or the server is busy: try again
		default:
			return false, err // invalid, forbidden, ...: retrying cannot help
		}
	})
	if err != nil {
		if lastErr != nil && wait.Interrupted(err) {
			err = fmt.Errorf("%w (last error: %w)", err, lastErr)
		}
		return nil, fmt.Errorf("updating service %s/%s: %w", ns, name, err)
	}
	return out, nil
}

// ReadyEndpoints returns the addresses of the ready endpoints of a Service
// across its EndpointSlices.
func ReadyEndpoints(ctx context.Context, cs kubernetes.Interface, ns, service string) ([]string, error) {
	list, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return nil, fmt.Errorf("listing endpoint slices of %s/%s: %w", ns, service, err)
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range list.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
			}
		}
	}
	return out, nil
}

// WaitReadyEndpoints waits until a Service has exactly n ready endpoints,
// within timeout.
func WaitReadyEndpoints(ctx context.Context, cs kubernetes.Interface, ns, service string, n int, timeout time.Duration) error {
	var got []string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		got, err = ReadyEndpoints(ctx, cs, ns, service)
		if err != nil {
			return false, nil
		}
		return len(got) == n, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %d ready endpoints of %s/%s (have %v): %w", n, ns, service, got, err)
	}
	return nil
}
