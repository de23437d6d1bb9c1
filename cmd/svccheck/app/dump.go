package app

import (
	"context"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/run"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
)

// dumpOptions are the flags of `svccheck dump`.
type dumpOptions struct {
	name        string
	kubeconfig  string
	output      string
	namespaces  []string
	timeout     time.Duration
	parallel    int
	image       string
	hostPodWait time.Duration
	hostPodLife time.Duration
	// allNamespaces dumps the objects of every namespace (for doctor).
	allNamespaces bool
	// onlyNode, when set, limits a kind dump to that node (explain).
	onlyNode string
}

func newDumpCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &dumpOptions{}
	cmd := &cobra.Command{
		Use:   "dump",
		Short: "Dump every node's netfilter state and the cluster's Service objects",
		Long: `dump writes, for an existing cluster and without running any suite, the same
node and cluster dumps 'svccheck run' writes: per node iptables-save (nat and
filter), conntrack, addresses, routes, rules, sysctls, the proxy's log and
metrics; per namespace the Services, EndpointSlices and Pods.

With --name (default svccheck) the cluster is a kind cluster and commands run
in the node containers. With --kubeconfig, any cluster: svccheck starts a
short-lived pod per node (host network, the node's root read-only at /host,
capabilities NET_ADMIN, NET_RAW and SYS_CHROOT only) from the svccheck image
and runs the node's own tools chrooted into /host. The pods are deleted
afterwards, also on Ctrl-C; if svccheck is killed or loses the cluster they
end by themselves after --host-pod-lifetime. They are labelled
app.kubernetes.io/managed-by=svccheck and svccheck.io/run-id=<id>. A node
whose pod does not run is reported and the others are dumped.`,
		Example: `  svccheck dump --output ./dump
  svccheck dump --name svcchk-1 --output ./dump --namespace default --namespace web
  svccheck dump --kubeconfig ~/.kube/config --image registry.example/svccheck:v1 --output ./dump`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			release, err := claimOutput(o.output)
			if err != nil {
				return err
			}
			defer release()
			if o.kubeconfig != "" {
				return dumpWithHostPods(cmd.Context(), o, stderr)
			}
			return dumpKind(cmd.Context(), o, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.name, "name", cluster.DefaultName, "kind cluster to dump")
	fl.StringVar(&o.kubeconfig, "kubeconfig", "", "dump the cluster of this kubeconfig (any cluster) through host pods instead of a kind cluster")
	fl.StringVar(&o.output, "output", "", "directory to write the dump into (required)")
	fl.StringSliceVar(&o.namespaces, "namespace", []string{"default", "kube-system"}, "namespaces whose Services, EndpointSlices and Pods to dump (repeatable)")
	fl.DurationVar(&o.timeout, "timeout", diag.DefaultCommandTimeout, "time limit of each command on a node and each API read")
	fl.IntVar(&o.parallel, "parallel", diag.DefaultParallelism, "nodes dumped at once")
	fl.StringVar(&o.image, "image", "", "with --kubeconfig: the svccheck image the host pods run (default: the image of this binary, as 'svccheck cluster create' loads it)")
	fl.DurationVar(&o.hostPodWait, "host-pod-timeout", 2*time.Minute, "with --kubeconfig: how long to wait for the host pods to run")
	fl.DurationVar(&o.hostPodLife, "host-pod-lifetime", diag.DefaultHostPodLifetime, "with --kubeconfig: the host pods end by themselves after this long, even if svccheck is killed or loses the cluster")
	cmd.AddCommand(newDumpHoldCommand(), newDumpExecHostCommand())
	return cmd
}

func (o *dumpOptions) validate(cmd *cobra.Command) error {
	if o.output == "" {
		return usageError("--output is required: the directory to write the dump into")
	}
	if err := checkOutputFree(o.output); err != nil {
		return err
	}
	if o.kubeconfig != "" && cmd.Flags().Changed("name") {
		return usageError("--name (a kind cluster) and --kubeconfig (any cluster) exclude each other")
	}
	if o.kubeconfig == "" && (cmd.Flags().Changed("image") || cmd.Flags().Changed("host-pod-timeout") || cmd.Flags().Changed("host-pod-lifetime")) {
		return usageError("--image, --host-pod-timeout and --host-pod-lifetime only apply with --kubeconfig")
	}
	if o.hostPodLife < time.Minute {
		return usageError("--host-pod-lifetime must be at least 1m, got %s", o.hostPodLife)
	}
	if o.timeout <= 0 {
		return usageError("--timeout must be positive, got %s", o.timeout)
	}
	if o.parallel < 1 {
		return usageError("--parallel must be at least 1, got %d", o.parallel)
	}
	for _, ns := range o.namespaces {
		if ns == "" {
			return usageError("--namespace must not be empty")
		}
	}
	return nil
}

// dumpKind dumps the kind cluster o.name. The nodes are found through kind
// itself, so they are dumped even when the API server does not answer; the
// proxy logs and cluster objects need the API server.
func dumpKind(ctx context.Context, o *dumpOptions, stderr io.Writer) error {
	nodes, err := kindNodes(o.name)
	if err != nil {
		return err
	}
	if o.onlyNode != "" {
		i := slices.IndexFunc(nodes, func(n diag.Node) bool { return n.Name == o.onlyNode })
		if i < 0 {
			return usageError("cluster %s has no node %q", o.name, o.onlyNode)
		}
		nodes = nodes[i : i+1]
	}
	collector := &diag.Collector{CommandTimeout: o.timeout, Parallelism: o.parallel, Progress: nodeProgress(stderr)}
	getCtx, cancel := context.WithTimeout(ctx, o.timeout)
	c, apiErr := cluster.Get(getCtx, o.name)
	cancel()
	if apiErr == nil {
		collector.Clientset, collector.Proxy, collector.NodeImage = c.Clientset, proxy.Proxy{Mode: c.Proxy}, c.NodeImage
		fmt.Fprintf(stderr, "dumping kind cluster %s (proxy %s): %d nodes into %s\n", o.name, c.Proxy, len(nodes), o.output)
	} else {
		fmt.Fprintf(stderr, "warning: cluster %s: %v\ndumping the %d nodes without proxy logs and cluster objects into %s\n",
			o.name, apiErr, len(nodes), o.output)
	}
	return writeDump(ctx, o, collector, nodes, apiErr, stderr)
}

// writeDump runs the node and cluster dumps and reports how they went.
// apiErr, when set, is why the cluster objects could not be dumped.
func writeDump(ctx context.Context, o *dumpOptions, collector *diag.Collector, nodes []diag.Node, apiErr error, stderr io.Writer) error {
	if err := os.MkdirAll(o.output, 0o755); err != nil {
		return usageError("creating the output directory: %v", err)
	}
	// The cluster objects come from the API server while the nodes are
	// dumped through their own commands: both at once.
	var clusterErr error
	clusterDone := make(chan struct{})
	go func() {
		defer close(clusterDone)
		if apiErr == nil && o.allNamespaces {
			o.namespaces, apiErr = listNamespaces(ctx, collector.Clientset, o.timeout)
		}
		if apiErr == nil {
			clusterErr = collector.CollectCluster(ctx, o.namespaces, o.output)
		}
	}()
	results, nodeErr := collector.CollectNodes(ctx, nodes, o.output)
	<-clusterDone
	failed := 0
	for _, r := range results {
		failed += len(r.Failed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dump interrupted, %s is incomplete: %w", o.output, err)
	}
	switch {
	case nodeErr != nil:
		return fmt.Errorf("writing the node dumps into %s: %w", o.output, nodeErr)
	case apiErr != nil:
		return usageError("wrote node dumps only into %s: the cluster's API server is not usable: %v", o.output, apiErr)
	case clusterErr != nil:
		return fmt.Errorf("node dumps written into %s, but the cluster objects are incomplete: %w", o.output, clusterErr)
	}
	title := "svccheck dump of " + o.name
	if o.kubeconfig != "" {
		title = "svccheck dump of " + o.kubeconfig
	}
	run.WriteHTMLReport(o.output, reports.HTMLReport{Title: title}, stderr)
	note := ""
	if failed > 0 {
		note = fmt.Sprintf(" (%d files record a failed command; see their '# svccheck:' lines)", failed)
	}
	fmt.Fprintf(stderr, "wrote the dump of %d nodes and %d namespaces into %s%s\n", len(nodes), len(o.namespaces), o.output, note)
	return nil
}

// kindNodes lists the node containers of kind cluster name.
func kindNodes(name string) ([]diag.Node, error) {
	p := kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	names, err := p.List()
	if err != nil {
		return nil, usageError("listing kind clusters (is Docker running?): %v", err)
	}
	if !slices.Contains(names, name) {
		known := "none"
		if len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		return nil, usageError("no kind cluster %q (kind clusters here: %s); for another cluster use --kubeconfig", name, known)
	}
	kn, err := p.ListNodes(name)
	if err != nil {
		return nil, usageError("listing the nodes of cluster %s: %v", name, err)
	}
	nodes := make([]diag.Node, len(kn))
	for i, n := range kn {
		nodes[i] = diag.Node{Name: n.String(), Cmder: n}
	}
	slices.SortFunc(nodes, func(a, b diag.Node) int { return strings.Compare(a.Name, b.Name) })
	return nodes, nil
}

// nodeProgress prints one line per dumped node.
func nodeProgress(w io.Writer) func(diag.NodeResult) {
	return func(r diag.NodeResult) {
		switch {
		case r.Err != nil:
			fmt.Fprintf(w, "  node %s: FAILED after %s: %v\n", r.Node, reports.FormatDuration(r.Duration), r.Err)
		case len(r.Failed) > 0:
			fmt.Fprintf(w, "  node %s: %d files in %s; commands failed for %s\n", r.Node, len(r.Files),
				reports.FormatDuration(r.Duration), strings.Join(r.Failed, ", "))
		default:
			fmt.Fprintf(w, "  node %s: %d files in %s\n", r.Node, len(r.Files), reports.FormatDuration(r.Duration))
		}
	}
}

// hostPath is the PATH commands run with after the chroot into the node's
// root: the svccheck image has no environment of its own.
const hostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// newDumpExecHostCommand is run in a host pod: it chroots into the node's
// root mounted at /host and replaces itself with the given command.
func newDumpExecHostCommand() *cobra.Command {
	root := diag.HostRoot
	cmd := &cobra.Command{
		Use:    "exec-host -- COMMAND [ARG...]",
		Short:  "Run a command in the node's root file system from a host pod",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := syscall.Chroot(root); err != nil {
				return usageError("chroot %s: %v", root, err)
			}
			if err := os.Chdir("/"); err != nil {
				return usageError("chdir / in %s: %v", root, err)
			}
			if err := os.Setenv("PATH", hostPath); err != nil {
				return usageError("setting PATH: %v", err)
			}
			bin, err := osexec.LookPath(args[0])
			if err != nil {
				return &ExitError{Code: 127, Err: fmt.Errorf("%s on the node: %w", args[0], err)}
			}
			if err := syscall.Exec(bin, args, os.Environ()); err != nil {
				return &ExitError{Code: 126, Err: fmt.Errorf("running %s on the node: %w", bin, err)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", root, "the node's root file system")
	return cmd
}
