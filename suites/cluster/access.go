package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"

	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/suites/diag"
)

// NodeAccess runs commands on a cluster's nodes, for the specs that work
// on a node (probes from the node's network, rule tracing) and the node
// dumps. A kind cluster's nodes are containers svccheck reaches with
// docker exec; any other cluster's are reached through a short-lived host
// pod per node (diag.HostPods). Either way a Cmder runs the node's own
// tools in its root, and the svccheck binary (probe.Binary, "svccheck") in
// the node's network.
type NodeAccess interface {
	// Cmders returns a Cmder per node name, starting on first use what it
	// needs (the host pods). A node it cannot reach is an error.
	Cmders(ctx context.Context) (map[string]exec.Cmder, error)
	// Close removes what Cmders started; it does nothing when nothing was
	// started, and may be called more than once.
	Close(ctx context.Context) error
}

// kindAccess reaches kind's node containers with docker exec.
type kindAccess struct {
	provider *kindcluster.Provider
	name     string
}

var _ NodeAccess = (*kindAccess)(nil)

// Cmders implements NodeAccess.
func (k *kindAccess) Cmders(context.Context) (map[string]exec.Cmder, error) {
	nodes, err := k.list()
	if err != nil {
		return nil, err
	}
	out := make(map[string]exec.Cmder, len(nodes))
	for _, n := range nodes {
		out[n.String()] = n
	}
	return out, nil
}

// list returns kind's node containers.
func (k *kindAccess) list() ([]nodes.Node, error) {
	if k.provider == nil {
		return nil, fmt.Errorf("cluster %s is not a kind cluster", k.name)
	}
	list, err := k.provider.ListNodes(k.name)
	if err != nil {
		return nil, fmt.Errorf("listing the nodes of cluster %s: %w", k.name, err)
	}
	return list, nil
}

// Close implements NodeAccess: the node containers belong to the cluster.
func (k *kindAccess) Close(context.Context) error { return nil }

// HostPodAccess reaches the nodes of any cluster through diag.HostPods,
// started once on first use.
type HostPodAccess struct {
	// Pods are the host pods; their RunID, Image and Lifetime must be set.
	Pods *diag.HostPods

	mu     sync.Mutex
	cmders map[string]exec.Cmder
}

var _ NodeAccess = (*HostPodAccess)(nil)

// Cmders implements NodeAccess: it starts a host pod on every node and
// fails when one of them does not run.
func (h *HostPodAccess) Cmders(ctx context.Context) (map[string]exec.Cmder, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmders != nil {
		return h.cmders, nil
	}
	nodes, failures, err := h.Pods.Start(ctx)
	if err != nil {
		return nil, err
	}
	if len(failures) > 0 {
		errs := make([]error, len(failures))
		for i, f := range failures {
			errs[i] = fmt.Errorf("node %s: %w", f.Node, f.Err)
		}
		return nil, fmt.Errorf("the host pods do not run on every node: %w", errors.Join(errs...))
	}
	h.cmders = make(map[string]exec.Cmder, len(nodes))
	for _, n := range nodes {
		h.cmders[n.Name] = n.Cmder
	}
	return h.cmders, nil
}

// Close implements NodeAccess: it deletes the host pods' namespace.
func (h *HostPodAccess) Close(ctx context.Context) error {
	if err := h.Pods.Delete(ctx); err != nil {
		return err
	}
	return nil
}
