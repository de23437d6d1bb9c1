package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/suites/diag"
)

// ErrUnreachable is returned by Connect when the API server does not answer.
var ErrUnreachable = errors.New("the API server is unreachable")

// labelControlPlane marks control-plane nodes (kubeadm and most installers).
const labelControlPlane = "node-role.kubernetes.io/control-plane"

// ConnectOptions say how Connect reaches a cluster svccheck did not make.
type ConnectOptions struct {
	// Kubeconfig is the kubeconfig file; Context its context, empty for
	// its current one.
	Kubeconfig, Context string
	// Image is the svccheck image the agent and host pods run; the
	// cluster must be able to pull it, or have it on every node.
	Image string
	// RunID labels the host pods and their namespace (diag.LabelRunID).
	RunID string
	// HostPodTimeout bounds the wait for the host pods to run;
	// HostPodLifetime how long they live at most (diag.HostPods).
	HostPodTimeout, HostPodLifetime time.Duration
	// APITimeout bounds the first request to the API server; default 30s.
	APITimeout time.Duration
}

// Connect returns any cluster, reached through its kubeconfig alone: no
// kind, no Docker. Its Name is the kubeconfig context's name. Nothing is
// created on the cluster until Nodes starts the host pods (one per node,
// see diag.HostPods), through which every node command runs; Close deletes
// them. Proxy stays empty until DetectProxy.
func Connect(ctx context.Context, o ConnectOptions) (*Cluster, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: o.Kubeconfig}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", o.Kubeconfig, err)
	}
	name := o.Context
	if name == "" {
		name = raw.CurrentContext
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s (context %q): %w", o.Kubeconfig, name, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a client from %s: %w", o.Kubeconfig, err)
	}
	timeout := o.APITimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if _, err := cs.CoreV1().RESTClient().Get().AbsPath("/version").Timeout(timeout).DoRaw(ctx); err != nil {
		return nil, fmt.Errorf("%w: %s (context %q of %s): %w", ErrUnreachable, cfg.Host, name, o.Kubeconfig, err)
	}
	pods := &diag.HostPods{Clientset: cs, Config: cfg, Image: o.Image, Timeout: o.HostPodTimeout,
		Lifetime: o.HostPodLifetime, RunID: o.RunID}
	return &Cluster{Name: name, Image: o.Image, KubeconfigPath: o.Kubeconfig, RESTConfig: cfg, Clientset: cs,
		access: &HostPodAccess{Pods: pods}}, nil
}

// HostPods returns the host pods of a Connect cluster, nil for a kind one.
func (c *Cluster) HostPods() *diag.HostPods {
	if h, ok := c.access.(*HostPodAccess); ok {
		return h.Pods
	}
	return nil
}

// hostPodNodes returns the nodes of a Connect cluster, each with the Cmder
// of its host pod (started on first use).
func (c *Cluster) hostPodNodes(ctx context.Context) ([]Node, error) {
	list, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the nodes of cluster %s: %w", c.Name, err)
	}
	cmders, err := c.Access().Cmders(ctx)
	if err != nil {
		return nil, fmt.Errorf("reaching the nodes of cluster %s: %w", c.Name, err)
	}
	out := make([]Node, 0, len(list.Items))
	for _, an := range list.Items {
		cmder, ok := cmders[an.Name]
		if !ok {
			return nil, fmt.Errorf("reaching node %s of cluster %s: it has no host pod (a node added during the run?)", an.Name, c.Name)
		}
		out = append(out, nodeFromAPI(an, cmder))
	}
	sortNodes(out)
	return out, nil
}

// nodeFromAPI returns the Node of an API Node object, reached with cmder.
func nodeFromAPI(an corev1.Node, cmder exec.Cmder) Node {
	n := Node{Name: an.Name, Role: "worker", PodCIDR: an.Spec.PodCIDR, Cmder: cmder}
	if _, ok := an.Labels[labelControlPlane]; ok {
		n.Role = "control-plane"
	}
	for _, a := range an.Status.Addresses {
		if a.Type == corev1.NodeInternalIP && n.InternalIP == "" {
			n.InternalIP = a.Address
		}
	}
	return n
}

// DetectProxy finds the cluster's Service proxy (see the function
// DetectProxy) and sets Proxy and ProxySource. It asks kube-proxy's
// metrics endpoint from a worker's network when it can reach the nodes.
func (c *Cluster) DetectProxy(ctx context.Context) (Detection, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Detection{}, err
	}
	var node Node
	for _, n := range nodes {
		node = n // the last one: a worker when there is one
	}
	d, err := DetectProxy(ctx, c.Clientset, node.Cmder, node.Name)
	if err != nil {
		return Detection{}, err
	}
	c.Proxy, c.ProxySource = d.Proxy, d.Source
	return d, nil
}
