package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/svccheck/svccheck/suites/cleanup"
)

// cleanupOptions are the flags of `svccheck cleanup`.
type cleanupOptions struct {
	kubeconfig string
	context    string
	runID      string
	all        bool
	timeout    time.Duration
}

func newCleanupCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &cleanupOptions{}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what svccheck runs left on a cluster",
		Long: `cleanup finds the namespaces labelled app.kubernetes.io/managed-by=svccheck
(spec, host-pod and preflight namespaces, with every pod and Service in them)
and removes those of run --run, or with --all those of every run, waiting
until they are gone. Without --run or --all it lists the runs it finds and
removes nothing. Namespaces without svccheck's label are never touched.`,
		Example: `  svccheck cleanup --kubeconfig ~/.kube/config                 # list what runs left
  svccheck cleanup --kubeconfig ~/.kube/config --run 1a2b3c4d  # remove one run's namespaces
  svccheck cleanup --kubeconfig ~/.kube/config --all           # remove every run's`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.kubeconfig == "" {
				return usageError("--kubeconfig is required")
			}
			if o.all && o.runID != "" {
				return usageError("--run and --all exclude each other")
			}
			rc, err := loadRESTConfig(o.kubeconfig, o.context)
			if err != nil {
				return err
			}
			cs, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return usageError("building a client for %s: %v", rc.Host, err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			return runCleanup(ctx, cs, o, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to clean up (required)")
	fl.StringVar(&o.context, "context", "", "kubeconfig context to use (default: its current context)")
	fl.StringVar(&o.runID, "run", "", "remove only what the run with this id left (label svccheck.io/run-id)")
	fl.BoolVar(&o.all, "all", false, "remove what every svccheck run left")
	fl.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the namespaces to go")
	return cmd
}

func runCleanup(ctx context.Context, cs kubernetes.Interface, o *cleanupOptions, stdout, stderr io.Writer) error {
	runs, err := cleanup.Find(ctx, cs, o.runID)
	if err != nil {
		return usageError("%v", err)
	}
	if len(runs) == 0 {
		what := "no svccheck run left anything"
		if o.runID != "" {
			what = "run " + o.runID + " left nothing"
		}
		fmt.Fprintf(stdout, "%s (namespaces labelled %s)\n", what, cleanup.Selector(o.runID))
		return nil
	}
	for _, r := range runs {
		names := make([]string, len(r.Namespaces))
		for i, ns := range r.Namespaces {
			names[i] = ns.Name
			if ns.Phase != "" && ns.Phase != "Active" {
				names[i] += " (" + string(ns.Phase) + ")"
			}
		}
		fmt.Fprintf(stdout, "run %s: %d namespaces since %s: %s\n", r.ID, len(r.Namespaces),
			r.Namespaces[0].Created.UTC().Format(time.DateTime), strings.Join(names, ", "))
	}
	if o.runID == "" && !o.all {
		fmt.Fprintf(stderr, "nothing removed: pass --run ID for one run, or --all\n")
		return nil
	}
	start := time.Now()
	err = cleanup.Delete(ctx, cs, runs, func(line string) { fmt.Fprintln(stderr, "  "+line) })
	if err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "removed what %d run(s) left in %s\n", len(runs), time.Since(start).Round(time.Second))
	return nil
}
