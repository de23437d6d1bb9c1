package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/preflight"
)

// hostPodMargin is how much longer than the spec run (--timeout) the host
// pods of a run may live: time for the dumps at the end.
const hostPodMargin = 10 * time.Minute

// hostPodWait bounds the wait for a run's host pods to run.
const hostPodWait = 2 * time.Minute

// connectCluster reaches the cluster of --kubeconfig, starts its host
// pods and detects its Service proxy. What it created is named by a forced
// quit (left) and deleted by closeHostPods, also when it fails.
func connectCluster(ctx context.Context, o *Options, stderr io.Writer) (*cluster.Cluster, error) {
	image := o.Image
	if image == "" {
		return nil, usageError("a run through a kubeconfig needs the image its pods run")
	}
	c, err := cluster.Connect(ctx, cluster.ConnectOptions{
		Kubeconfig: o.Kubeconfig, Context: o.Context, Image: image, RunID: o.RunID,
		HostPodTimeout: hostPodWait, HostPodLifetime: o.Timeout + hostPodMargin,
	})
	if err != nil {
		return nil, usageError("%v", err)
	}
	if !o.ParallelChild {
		// Before anything is created: the parent checks once for all.
		if err := runPreflight(ctx, c, image, o.RunID, stderr); err != nil {
			return nil, err
		}
	}
	o.Leftovers.AddRun(c.Clientset, o.Kubeconfig, o.RunID, c.HostPods())
	start := time.Now()
	fmt.Fprintf(stderr, "cluster %s (%s): starting a host pod per node (image %s)\n", c.Name, c.RESTConfig.Host, image)
	d, err := c.DetectProxy(ctx)
	if err != nil {
		closeHostPods(ctx, c, o.Leftovers, stderr)
		return nil, usageError("%v", err)
	}
	fmt.Fprintf(stderr, "host pods running in %s (namespace %s); Service proxy: %s\n",
		reports.FormatDuration(time.Since(start)), c.HostPods().Namespace(), d)
	if o.Break != "" && c.Proxy != proxy.Svccheck {
		closeHostPods(ctx, c, o.Leftovers, stderr)
		return nil, usageError("--break applies to svccheck's proxy only, and cluster %s runs %s", c.Name, d)
	}
	return c, nil
}

// closeHostPods deletes the host pods of a cluster reached through its
// kubeconfig, also after Ctrl-C.
func closeHostPods(ctx context.Context, c *cluster.Cluster, left *Leftovers, stderr io.Writer) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	pods := c.HostPods()
	ns := pods.Namespace()
	if err := c.Close(dctx); err != nil {
		fmt.Fprintf(stderr, "warning: %v\nleft behind: %s\n", err, pods.LeftBehind())
		return
	}
	left.RemoveHostPods(pods)
	if ns != "" {
		fmt.Fprintf(stderr, "deleted the host pods (namespace %s)\n", ns)
	}
}

// apiServiceCIDR reads the Service range from the ServiceCIDR object
// "kubernetes" (networking.k8s.io/v1), which the API server makes from its
// --service-cluster-ip-range on any cluster, kubeadm's or not. Of a
// dual-stack pair it returns the first range.
func apiServiceCIDR(ctx context.Context, cs kubernetes.Interface) (netip.Prefix, error) {
	sc, err := cs.NetworkingV1().ServiceCIDRs().Get(ctx, defaultServiceCIDR, metav1.GetOptions{})
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("reading ServiceCIDR %s: %w", defaultServiceCIDR, err)
	}
	if len(sc.Spec.CIDRs) == 0 {
		return netip.Prefix{}, fmt.Errorf("ServiceCIDR %s lists no range", defaultServiceCIDR)
	}
	p, err := netip.ParsePrefix(sc.Spec.CIDRs[0])
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parsing the range %q of ServiceCIDR %s: %w", sc.Spec.CIDRs[0], defaultServiceCIDR, err)
	}
	return p.Masked(), nil
}

// defaultServiceCIDR is the ServiceCIDR object the API server keeps for
// its configured Service range.
const defaultServiceCIDR = "kubernetes"

// targetArgs are the flags of a child run that reach the parent's cluster
// (name, for a kind cluster).
func (o *Options) targetArgs(name string) []string {
	if o.Kubeconfig == "" {
		return []string{"run", "--reuse", "--name", name, "--proxy", string(o.Proxy)}
	}
	args := []string{"run", "--kubeconfig", o.Kubeconfig}
	if o.Context != "" {
		args = append(args, "--context", o.Context)
	}
	if o.Image != "" {
		args = append(args, "--image", o.Image)
	}
	return args
}

// runPreflight checks, before a run creates anything on a cluster it
// reached through a kubeconfig, that the run can work there (svccheck
// preflight's checks); a failure exits 2 with every problem listed.
func runPreflight(ctx context.Context, c *cluster.Cluster, image, runID string, stderr io.Writer) error {
	start := time.Now()
	fmt.Fprintf(stderr, "preflight of %s (image %s)\n", c.RESTConfig.Host, image)
	res, err := preflight.Run(ctx, preflight.Config{REST: c.RESTConfig, Clientset: c.Clientset, Image: image, RunID: runID, Progress: stderr})
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	var failed *preflight.Failed
	switch {
	case errors.As(err, &failed):
		return &Error{Status: Unusable, Err: fmt.Errorf("preflight failed, nothing was created: %w", err)}
	case err != nil:
		return usageError("preflight: %v", err)
	}
	fmt.Fprintf(stderr, "preflight passed in %s: %d checks\n", reports.FormatDuration(time.Since(start)), len(res.Checks))
	return nil
}
