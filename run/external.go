package run

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/specs"
)

// externalClient is the run's client container outside the cluster: started
// when the first External spec asks for it, removed when the run ends
// (also after Ctrl-C; a forced quit names it as left behind, and `svccheck
// cluster delete` removes it with the cluster).
type externalClient struct {
	c      *cluster.Cluster
	left   *Leftovers
	stderr io.Writer

	mu      sync.Mutex
	client  *specs.ExternalClient
	started string // the container's name once started
}

// newExternalClient returns the run's client outside c, or the reason the
// cluster cannot have one.
func newExternalClient(ctx context.Context, c *cluster.Cluster, left *Leftovers, stderr io.Writer) (*externalClient, string) {
	if !c.Kind() {
		return nil, "the cluster is reached through its kubeconfig alone (--kubeconfig), so svccheck has no client container on the nodes' network"
	}
	if _, err := c.ExternalNetwork(ctx); err != nil {
		return nil, fmt.Sprintf("the cluster's nodes are not containers on a Docker network this machine reaches: %v", err)
	}
	return &externalClient{c: c, left: left, stderr: stderr}, ""
}

// get starts the container on first use and returns it; a failed start is
// tried again by the next spec.
func (e *externalClient) get(ctx context.Context) (*specs.ExternalClient, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client != nil {
		return e.client, nil
	}
	// One container per process: the children of a --parallel run each
	// start their own.
	name := cluster.ExternalClientName(e.c.Name, strconv.Itoa(os.Getpid()))
	e.left.AddContainer(name)
	e.started = name
	ext, err := e.c.StartExternalClient(ctx, strconv.Itoa(os.Getpid()))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stderr, "started client container %s (%s) outside cluster %s\n", ext.Name, ext.IP, e.c.Name)
	e.client = &specs.ExternalClient{Name: ext.Name, IP: ext.IP,
		Prober: &probe.ExternalProber{Container: ext.Name, Cmder: &exec.LocalCmder{}}}
	return e.client, nil
}

// remove removes the container if one was started.
func (e *externalClient) remove(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started == "" {
		return nil
	}
	if err := cluster.RemoveExternalClient(ctx, e.started); err != nil {
		return err
	}
	e.left.RemoveContainer(e.started)
	e.started, e.client = "", nil
	return nil
}
