package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxy"
)

// ErrExists is returned by Create when a kind cluster of that name exists.
var ErrExists = errors.New("cluster already exists")

// ErrNotFound is returned by Get and Delete when no kind cluster has that name.
var ErrNotFound = errors.New("no such cluster")

// ErrDockerUnavailable is returned when the docker command is missing or the
// Docker engine does not answer.
var ErrDockerUnavailable = errors.New("docker is not available")

// Cluster is a kind cluster svccheck created or found.
type Cluster struct {
	// Name is the kind cluster name.
	Name string
	// Proxy is the Service proxy the cluster runs.
	Proxy proxy.Mode
	// NodeImage is the kind node image of the cluster's nodes.
	NodeImage string
	// Image is the svccheck image loaded on every node (ImageName of the
	// binary); pods running the agent or the proxy use it with
	// imagePullPolicy Never.
	Image string
	// KubeconfigPath is the file holding the cluster's kubeconfig (the API
	// server address as reached from the host): svccheck's own file
	// DefaultKubeconfigPath(Name), or a file of the user's that kind merged
	// the cluster's entries into (context kind-<Name>).
	KubeconfigPath string
	// RESTConfig is the client configuration for the cluster's API server.
	RESTConfig *rest.Config
	// Clientset is a client for the cluster's API server.
	Clientset kubernetes.Interface
	// ProxySource says what told Proxy: the run that created the cluster,
	// or what DetectProxy read (for versions.yaml and summary.md).
	ProxySource string

	// provider is kind's, nil for a cluster reached through its
	// kubeconfig alone (Connect).
	provider *kindcluster.Provider
	// access runs commands on the nodes: docker exec into kind's node
	// containers, or host pods for a Connect cluster.
	access NodeAccess
}

// Kind reports whether the cluster is a kind cluster svccheck reaches
// through Docker (Create, Get), rather than any cluster reached through
// its kubeconfig alone (Connect).
func (c *Cluster) Kind() bool { return c.provider != nil }

// Access returns how svccheck runs commands on the cluster's nodes.
func (c *Cluster) Access() NodeAccess {
	if c.access == nil {
		return c.kindAccess()
	}
	return c.access
}

// Close removes what running commands on the nodes needed (a Connect
// cluster's host pods); the cluster itself stays.
func (c *Cluster) Close(ctx context.Context) error {
	return c.Access().Close(ctx)
}

func (c *Cluster) kindAccess() *kindAccess {
	return &kindAccess{provider: c.provider, name: c.Name}
}

// Node is a node of a cluster.
type Node struct {
	// Name is the Kubernetes node name (also the node container's name).
	Name string
	// Role is "control-plane" or "worker".
	Role string
	// InternalIP is the node's address on the kind network.
	InternalIP string
	// PodCIDR is the node's spec.podCIDR; empty until the controller manager
	// assigned it.
	PodCIDR string
	// Cmder runs commands inside the node container; the svccheck binary is
	// at /usr/local/bin/svccheck there.
	Cmder exec.Cmder
}

// NodeBinaryPath is where Create puts the svccheck binary on every node.
const NodeBinaryPath = "/usr/local/bin/svccheck"

// Nodes returns the cluster's nodes, control plane first, then workers by name.
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	if !c.Kind() {
		return c.hostPodNodes(ctx)
	}
	kindNodes, err := c.kindAccess().list()
	if err != nil {
		return nil, err
	}
	list, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the nodes of cluster %s: %w", c.Name, err)
	}
	return joinNodes(kindNodes, list.Items)
}

// joinNodes merges kind's node containers with their Kubernetes Node objects.
func joinNodes(kindNodes []nodes.Node, apiNodes []corev1.Node) ([]Node, error) {
	byName := make(map[string]corev1.Node, len(apiNodes))
	for _, n := range apiNodes {
		byName[n.Name] = n
	}
	var out []Node
	for _, kn := range kindNodes {
		role, err := kn.Role()
		if err != nil {
			return nil, fmt.Errorf("reading the role of node %s: %w", kn, err)
		}
		if role == "external-load-balancer" {
			continue
		}
		n := Node{Name: kn.String(), Role: role, Cmder: kn}
		if ip, _, err := kn.IP(); err == nil {
			n.InternalIP = ip
		}
		if an, ok := byName[n.Name]; ok {
			n.PodCIDR = an.Spec.PodCIDR
			for _, a := range an.Status.Addresses {
				if a.Type == corev1.NodeInternalIP {
					n.InternalIP = a.Address
				}
			}
		}
		out = append(out, n)
	}
	sortNodes(out)
	return out, nil
}

// sortNodes sorts nodes control plane first, then by name.
func sortNodes(out []Node) {
	slices.SortFunc(out, func(a, b Node) int {
		if a.Role != b.Role {
			if a.Role == "control-plane" {
				return -1
			}
			if b.Role == "control-plane" {
				return 1
			}
		}
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
}

// Delete deletes the cluster's node containers, its client containers
// (ExternalClientLabel) and network state, removes
// the cluster's entries from KubeconfigPath (its cluster, user and context,
// and current-context when it names the cluster) and removes svccheck's own
// kubeconfig file of the cluster, DefaultKubeconfigPath(Name). Any other
// kubeconfig file keeps its other entries and is never removed.
func (c *Cluster) Delete(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting cluster %s: %w", c.Name, err)
	}
	path := c.KubeconfigPath
	if path == "" {
		// kind would fall back to $KUBECONFIG or ~/.kube/config.
		p, err := DefaultKubeconfigPath(c.Name)
		if err != nil {
			return fmt.Errorf("deleting cluster %s: %w", c.Name, err)
		}
		path = p
	}
	// The client containers outside the cluster are on its network.
	if err := RemoveExternalClients(ctx, c.Name); err != nil {
		return fmt.Errorf("deleting cluster %s: %w", c.Name, err)
	}
	// kind deletes the nodes and removes the cluster's entries from path,
	// leaving every other entry and the file itself in place.
	if err := c.provider.Delete(c.Name, path); err != nil {
		return fmt.Errorf("deleting cluster %s: %w", c.Name, err)
	}
	return removeOwnedKubeconfig(c.Name)
}

// Delete deletes the kind cluster called name, returning ErrNotFound when
// there is none. kubeconfig is the file the cluster's entries were written to
// (Options.Kubeconfig), empty for DefaultKubeconfigPath(name); see
// (*Cluster).Delete for what happens to it.
func Delete(ctx context.Context, name, kubeconfig string) error {
	if name == "" {
		name = DefaultName
	}
	p, err := newProvider(ctx)
	if err != nil {
		return err
	}
	if ok, err := exists(p, name); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("deleting cluster %s: %w", name, ErrNotFound)
	}
	c := &Cluster{Name: name, provider: p, KubeconfigPath: kubeconfig}
	return c.Delete(ctx)
}

// Get returns the existing kind cluster called name, with clients for it,
// for reuse by a later run. Its kubeconfig is (re)written to
// DefaultKubeconfigPath(name). Image names the image of the running binary,
// which the nodes may lack if svccheck was rebuilt since the cluster was
// created: call EnsureSvccheck before running pods with it.
func Get(ctx context.Context, name string) (*Cluster, error) {
	if name == "" {
		name = DefaultName
	}
	p, err := newProvider(ctx)
	if err != nil {
		return nil, err
	}
	if ok, err := exists(p, name); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("getting cluster %s: %w", name, ErrNotFound)
	}
	path, err := DefaultKubeconfigPath(name)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: name, provider: p, KubeconfigPath: path}
	if err := c.loadClients(); err != nil {
		return nil, err
	}
	if err := c.discover(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// loadClients builds RESTConfig and Clientset from the cluster's external
// kubeconfig as kind generates it, and writes that kubeconfig to
// c.KubeconfigPath when svccheck owns the file (see saveKubeconfig).
func (c *Cluster) loadClients() error {
	kc, err := c.provider.KubeConfig(c.Name, false)
	if err != nil {
		return fmt.Errorf("reading the kubeconfig of cluster %s: %w", c.Name, err)
	}
	return c.useKubeconfig([]byte(kc))
}

// useKubeconfig saves kc, the cluster's own kubeconfig, to c.KubeconfigPath
// when svccheck owns that file, and builds the clients from kc itself, never
// from a file kind may have merged it into.
func (c *Cluster) useKubeconfig(kc []byte) error {
	if err := saveKubeconfig(c.Name, c.KubeconfigPath, kc); err != nil {
		return err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		return fmt.Errorf("parsing the kubeconfig of cluster %s: %w", c.Name, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("building a client for cluster %s: %w", c.Name, err)
	}
	c.RESTConfig, c.Clientset = cfg, cs
	return nil
}

// discover fills Proxy, NodeImage and Image of a cluster svccheck did not
// just create.
func (c *Cluster) discover(ctx context.Context) error {
	_, err := c.Clientset.AppsV1().DaemonSets(ProxyNamespace).Get(ctx, ProxyName, metav1.GetOptions{})
	if err == nil {
		c.Proxy, c.ProxySource = proxy.Svccheck, "DaemonSet "+ProxyNamespace+"/"+ProxyName
	} else {
		c.ProxySource = "ConfigMap " + ProxyNamespace + "/" + KubeProxyName + " (see the proxy mode)"
		mode, kerr := kubeProxyMode(ctx, c.Clientset)
		if kerr != nil {
			return fmt.Errorf("finding the Service proxy of cluster %s: %w", c.Name, errors.Join(err, kerr))
		}
		c.Proxy = mode
	}
	out, err := exec.Output(localCmder().CommandContext(ctx, "docker", "inspect", "-f", "{{.Config.Image}}", c.Name+"-control-plane"))
	if err != nil {
		return fmt.Errorf("finding the node image of cluster %s: %w", c.Name, err)
	}
	c.NodeImage = string(trimNL(out))
	img, err := imageNameOfRunning()
	if err != nil {
		return err
	}
	c.Image = img
	return nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
