package app

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/suites/cluster"
)

// newClusterCommand is `svccheck cluster`, which creates and deletes kind
// clusters running svccheck's proxy or kube-proxy.
func newClusterCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Create and delete kind clusters running svccheck's proxy or kube-proxy",
	}
	cmd.AddCommand(newClusterCreateCommand(stdout, stderr), newClusterDeleteCommand(stdout))
	return cmd
}

func newClusterCreateCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		opts      cluster.Options
		proxyFlag string
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a kind cluster with the chosen Service proxy Ready on every node",
		Long: `Create a kind cluster (1 control plane and --workers workers) through kind's Go
API, side-load the svccheck image and binary on every node, and, for --proxy
svccheck, run svccheck's proxy as a DaemonSet in place of kube-proxy. Waits
until the proxy and CoreDNS are Ready. The node image is --node-image, else
kind's default image when Docker has it, else svccheck's air-gapped image
(built on first use).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode, err := proxy.ParseMode(proxyFlag)
			if err != nil {
				return usageError("--proxy: %v", err)
			}
			opts.Proxy = mode
			// The flag defaults to cluster.DefaultWorkers, so a value below 1
			// was given explicitly: reject it rather than let Create turn 0
			// into the default.
			if opts.Workers < 1 {
				return usageError("--workers must be at least 1, got %d", opts.Workers)
			}
			opts.Progress = stderr
			// A forced quit during Create leaves the cluster half made.
			left.AddCluster(opts.Name)
			c, err := cluster.Create(cmd.Context(), opts)
			left.RemoveCluster(opts.Name) // made to stay, or deleted by Create
			if err != nil {
				return clusterError(err, opts.Name)
			}
			fmt.Fprintf(stdout, "cluster %s is ready (proxy %s); use it with:\n  export KUBECONFIG=%s\n",
				c.Name, c.Proxy, c.KubeconfigPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", cluster.DefaultName, "kind cluster name")
	f.IntVar(&opts.Workers, "workers", cluster.DefaultWorkers, "number of worker nodes")
	f.StringVar(&proxyFlag, "proxy", string(proxy.Svccheck), "Service proxy: svccheck, kube-proxy, kube-proxy:nftables or kube-proxy:ipvs")
	f.StringVar(&opts.NodeImage, "node-image", "", "kind node image (default: kind's default image if Docker has it, else svccheck's air-gapped image)")
	f.StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file to merge the cluster's entries (context kind-<name>) into, keeping its other entries (default: a file of its own, ~/.kube/svccheck-<name>.yaml)")
	f.BoolVar(&opts.Retain, "retain", false, "keep the nodes of a failed or interrupted create, for debugging")
	return cmd
}

func newClusterDeleteCommand(stdout io.Writer) *cobra.Command {
	var name, kubeconfig string
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a kind cluster and its kubeconfig entries",
		Long: `Delete a kind cluster, its svccheck kubeconfig file
~/.kube/svccheck-<name>.yaml, and, with --kubeconfig, the cluster's entries
(context kind-<name>) in that file, which keeps its other entries.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cluster.Delete(cmd.Context(), name, kubeconfig); err != nil {
				return clusterError(err, name)
			}
			if kubeconfig != "" {
				fmt.Fprintf(stdout, "deleted cluster %s and its entries in %s\n", name, kubeconfig)
				return nil
			}
			fmt.Fprintf(stdout, "deleted cluster %s\n", name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", cluster.DefaultName, "kind cluster name")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file the cluster was created with (cluster create --kubeconfig) to remove its entries from")
	return cmd
}

// clusterError turns the cluster package's environment errors into usage
// errors (exit 2) with a hint; other errors pass through.
func clusterError(err error, name string) error {
	switch {
	case errors.Is(err, cluster.ErrExists):
		return usageError("%v: delete it with 'svccheck cluster delete --name %s', or run the suites on it with 'svccheck run --reuse --name %s'", err, name, name)
	case errors.Is(err, cluster.ErrNotFound):
		return usageError("%v (see 'docker ps' for kind clusters)", err)
	case errors.Is(err, cluster.ErrDockerUnavailable):
		return usageError("%v", err)
	case errors.Is(err, cluster.ErrNotStatic), errors.Is(err, cluster.ErrNodeImageUnavailable), errors.Is(err, cluster.ErrIPVSUnsupported):
		return usageError("%v", err)
	}
	return err
}
