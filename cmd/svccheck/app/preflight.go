package app

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/svccheck/svccheck/suites/preflight"
)

// preflightOptions are the flags of `svccheck preflight`.
type preflightOptions struct {
	kubeconfig  string
	context     string
	image       string
	pullTimeout time.Duration
	minWorkers  int
}

func newPreflightCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &preflightOptions{}
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check that svccheck can run on an existing cluster, before creating anything",
		Long: `preflight checks, for the cluster of a kubeconfig, everything 'svccheck run
--kubeconfig' needs, and reports every problem at once: the API server answers;
the caller holds every permission the run uses (SelfSubjectAccessReviews; see
docs/rbac.yaml for a ClusterRole granting exactly these); at least
--min-workers Linux worker nodes are Ready, not cordoned and not tainted; a
namespace labelled like svccheck's (Pod Security level privileged) is accepted
and admission lets svccheck's host pods in it (server-side dry run); and one
pod from --image runs. The namespace and the pod are deleted afterwards.
Exit status 0 when everything passed, 2 with the list of problems.`,
		Example: `  svccheck preflight --kubeconfig ~/.kube/config --image registry.example/svccheck:v1
  svccheck preflight --kubeconfig ci.yaml --context staging --image registry.example/svccheck:v1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.kubeconfig == "" {
				return usageError("--kubeconfig is required")
			}
			rc, err := loadRESTConfig(o.kubeconfig, o.context)
			if err != nil {
				return err
			}
			image, err := hostPodImage(o.image)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "preflight of %s (image %s)\n", rc.Host, image)
			res, err := preflight.Run(cmd.Context(), preflight.Config{REST: rc, Image: image, RunID: newRunID(),
				MinWorkers: o.minWorkers, PullTimeout: o.pullTimeout, Progress: stderr})
			for _, w := range res.Warnings {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			var failed *preflight.Failed
			switch {
			case errors.As(err, &failed):
				return &ExitError{Code: ExitUsage, Err: err}
			case err != nil:
				return usageError("%v", err)
			}
			fmt.Fprintf(stdout, "preflight passed on %s: %d checks\n", res.Server, len(res.Checks))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to check (required)")
	fl.StringVar(&o.context, "context", "", "kubeconfig context to use (default: its current context)")
	fl.StringVar(&o.image, "image", "", "the svccheck image the run's pods will use (default: the image of this binary, as 'svccheck cluster create' loads it)")
	fl.DurationVar(&o.pullTimeout, "pull-timeout", preflight.DefaultPullTimeout, "how long the image check's pod may take to run")
	fl.IntVar(&o.minWorkers, "min-workers", preflight.DefaultMinWorkers, "schedulable Linux worker nodes needed")
	return cmd
}

// loadRESTConfig reads kubeconfig, with context instead of its current
// context when set.
func loadRESTConfig(kubeconfig, context string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if context != "" {
			return nil, usageError("reading context %q of kubeconfig %s: %v", context, kubeconfig, err)
		}
		return nil, usageError("reading kubeconfig %s: %v", kubeconfig, err)
	}
	return rc, nil
}
