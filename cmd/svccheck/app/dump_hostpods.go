package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
)

// dumpWithHostPods dumps any cluster through a host pod per node. Nodes
// whose pod does not run are reported, and the others dumped.
func dumpWithHostPods(ctx context.Context, o *dumpOptions, stderr io.Writer) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return usageError("reading kubeconfig %s: %v", o.kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return usageError("building a client from %s: %v", o.kubeconfig, err)
	}
	if _, err := cs.CoreV1().RESTClient().Get().AbsPath("/version").Timeout(o.timeout).DoRaw(ctx); err != nil {
		return usageError("the API server of %s (%s) is unreachable: %v", o.kubeconfig, cfg.Host, err)
	}
	image, err := hostPodImage(o.image)
	if err != nil {
		return err
	}
	pods := &diag.HostPods{Clientset: cs, Config: cfg, Image: image, Timeout: o.hostPodWait,
		Lifetime: o.hostPodLife, RunID: newRunID()}
	left.AddHostPods(pods, o.kubeconfig)
	// The pods go away on every path out, Ctrl-C included; a forced quit
	// names them (left.Quit), and a crash leaves them to their deadline.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := pods.Delete(dctx); err != nil {
			fmt.Fprintf(stderr, "warning: %v\nleft behind: %s (delete them with: %s)\n", err, pods.LeftBehind(), pods.DeleteCommand(o.kubeconfig))
		} else if ns := pods.Namespace(); ns != "" {
			fmt.Fprintf(stderr, "deleted the host pods (namespace %s)\n", ns)
		}
		left.RemoveHostPods(pods)
	}()
	fmt.Fprintf(stderr, "starting a host pod per node (image %s, run id %s)\n", image, pods.RunID)
	nodes, failures, err := pods.Start(ctx)
	if err != nil {
		return usageError("%v", err)
	}
	for _, f := range failures {
		fmt.Fprintf(stderr, "  node %s: NOT DUMPED: its host pod does not run: %v\n", f.Node, f.Err)
	}
	collector := &diag.Collector{Clientset: cs, CommandTimeout: o.timeout, Parallelism: o.parallel, Progress: nodeProgress(stderr)}
	fmt.Fprintf(stderr, "dumping %d nodes into %s\n", len(nodes), o.output)
	dumpErr := writeDump(ctx, o, collector, nodes, nil, stderr)
	if len(failures) == 0 {
		return dumpErr
	}
	errs := []error{dumpErr}
	for _, f := range failures {
		errs = append(errs, fmt.Errorf("node %s not dumped: %w", f.Node, f.Err))
	}
	return errors.Join(errs...)
}

// hostPodImage returns image, or by default the image of this binary.
func hostPodImage(image string) (string, error) {
	if image != "" {
		return image, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", usageError("finding the svccheck binary for the default --image: %v", err)
	}
	if image, err = cluster.ImageName(self); err != nil {
		return "", usageError("naming the default --image: %v", err)
	}
	return image, nil
}

// newRunID returns a random id for the objects of one svccheck process.
func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newDumpHoldCommand is run by a host pod: it waits until the pod is
// deleted or --for has passed, whichever comes first, so a pod svccheck
// could not delete ends by itself.
func newDumpHoldCommand() *cobra.Command {
	hold := diag.DefaultHostPodLifetime
	cmd := &cobra.Command{
		Use:    "hold",
		Short:  "Keep a host pod running until it is deleted or --for has passed",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if hold <= 0 {
				return usageError("--for must be positive, got %s", hold)
			}
			t := time.NewTimer(hold)
			defer t.Stop()
			select {
			case <-cmd.Context().Done():
			case <-t.C:
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&hold, "for", hold, "exit after this long")
	return cmd
}
