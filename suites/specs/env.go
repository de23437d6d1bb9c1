package specs

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxy"
)

// Node is a cluster node the specs can run commands on.
type Node struct {
	// Name is the Kubernetes node name.
	Name string
	// Role is "control-plane" or "worker".
	Role string
	// IP is the node's internal address.
	IP string
	// Cmder runs commands on the node; the svccheck binary is on its PATH.
	Cmder exec.Cmder
}

// FailureCollector dumps diagnostics after each spec: the nodes when the
// spec failed, and the spec's namespace whatever its outcome.
type FailureCollector interface {
	// CollectFailure dumps the nodes for the failing spec specSlug and
	// returns the directories written, relative to the output directory.
	CollectFailure(ctx context.Context, specSlug string) ([]string, error)
	// CollectNamespace dumps the objects of a spec's namespace (Services,
	// EndpointSlices, Pods); it is called after every spec, passed or
	// failed, before the namespace is deleted.
	CollectNamespace(ctx context.Context, namespace string) error
}

// Env is the cluster the specs run against.
type Env struct {
	// Config and Client reach the cluster's API server.
	Config *rest.Config
	Client kubernetes.Interface
	// Nodes lists the cluster's nodes, control plane first.
	Nodes []Node
	// Image is the svccheck image agent pods run: loaded on every node
	// (svccheck.local/..., never pulled), or pulled by the cluster.
	Image string
	// Proxy is the cluster's Service proxy and how it was found: an
	// unknown one (proxy.Unknown) makes the specs that read or trace a
	// proxy's rules skip.
	Proxy proxy.Proxy
	// ServiceCIDR is the cluster's Service range (its kubeadm
	// serviceSubnet, the primary family's when dual-stack); default
	// 10.96.0.0/12, Kubernetes' own default, when left zero.
	ServiceCIDR netip.Prefix
	// NodePortMin and NodePortMax bound the node-port range; default
	// 30000-32767.
	NodePortMin, NodePortMax int32
	// Failures dumps diagnostics after each spec (the nodes when it
	// failed, its namespace always); nil skips that.
	Failures FailureCollector
	// PodTimeout bounds waiting for pods to be Ready; default 60s.
	PodTimeout time.Duration
	// External starts, on first use, a client container outside the
	// cluster and returns it, the same one on every call; nil when the
	// cluster cannot have one, NoExternal saying why (the External specs
	// skip).
	External func(ctx context.Context) (*ExternalClient, error)
	// NoExternal says why External is nil.
	NoExternal string
	// Labels go on every namespace the specs create, beside
	// workload.ManagedLabel: the run's managed-by and run id labels, so
	// what a killed run leaves can be found and removed.
	Labels map[string]string
	// Scale is the number of Services the Scale spec creates (--scale N);
	// 0 skips it.
	Scale int
}

var (
	envMu sync.Mutex
	env   *Env
)

// SetEnv sets the cluster the specs run against. Call it before running them.
func SetEnv(e *Env) error {
	if e == nil || e.Client == nil || e.Config == nil {
		return fmt.Errorf("setting the spec environment: no Kubernetes client")
	}
	if e.Image == "" {
		return fmt.Errorf("setting the spec environment: no agent image")
	}
	workers := 0
	for _, n := range e.Nodes {
		if n.Role != "control-plane" {
			workers++
		}
	}
	if workers < 2 {
		return fmt.Errorf("setting the spec environment: the specs need at least 2 worker nodes, the cluster has %d", workers)
	}
	c := *e
	if !c.ServiceCIDR.IsValid() {
		c.ServiceCIDR = netip.MustParsePrefix("10.96.0.0/12")
	}
	if c.NodePortMin == 0 {
		c.NodePortMin, c.NodePortMax = 30000, 32767
	}
	if c.PodTimeout == 0 {
		c.PodTimeout = 60 * time.Second
	}
	envMu.Lock()
	env = &c
	envMu.Unlock()
	return nil
}

// theEnv returns the environment; specs fail when it is unset.
func theEnv() *Env {
	envMu.Lock()
	defer envMu.Unlock()
	return env
}

// workers returns the worker nodes.
func (e *Env) workers() []Node {
	var out []Node
	for _, n := range e.Nodes {
		if n.Role != "control-plane" {
			out = append(out, n)
		}
	}
	return out
}

// proxyDesc names the cluster's proxy and how it was found, for skip
// messages: "unknown/replaced (no DaemonSet ...)".
func (e *Env) proxyDesc() string {
	return e.Proxy.Described()
}
