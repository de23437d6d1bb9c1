package app

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/spf13/cobra"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/proxyimpl"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/run"
	"github.com/svccheck/svccheck/suites/cluster"
)

// runOptions are the flags of `svccheck run`.
type runOptions struct {
	proxy       string
	name        string
	reuse       bool
	keepCluster bool
	labelFilter string
	focus       []string
	output      string
	timeout     time.Duration
	parallel    int
	verbose     bool
	compare     bool
	breakMode   string
	nodeImage   string
	workers     int
	// scale, when positive, runs the Scale specs alone with that many
	// Services.
	scale int
	// parallelChild marks a child run of a --parallel run: the parent
	// loads svccheck, dumps the nodes and prints the merged results.
	parallelChild bool
	// listSpecs, when set, is where a run only lists the selected specs
	// (for a --parallel parent) instead of running them.
	listSpecs string
	// kubeconfig and kubeContext reach any cluster (no kind, no Docker);
	// image is the svccheck image its pods run.
	kubeconfig  string
	kubeContext string
	image       string
	// runID labels everything the run creates (diag.LabelRunID); a
	// --parallel parent passes its own to its children.
	runID string
	// proxySet says --proxy was given.
	proxySet bool

	// proxyMode is proxy, parsed.
	proxyMode proxy.Mode
}

func newRunCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the Service suites against svccheck's proxy or kube-proxy",
		Long: `run creates a kind cluster (or reuses one with --reuse), runs the Service
suites (ClusterIP, NodePort, ETPLocal, Affinity, Headless) against its
Service proxy, and writes JUnit, JSON, a Markdown summary, every node's
netfilter dump and the cluster objects to --output.

Exit status: 0 when every spec passed, 1 when a spec failed or the run was
interrupted, 2 for usage or environment errors. --compare runs the suites
against svccheck's proxy and stock kube-proxy in iptables and in nftables
mode, one cluster each in turn, prints them side by side and writes
comparison.md to --output.`,
		Example: `  svccheck run
  svccheck run --label-filter 'ClusterIP || NodePort' --keep-cluster
  svccheck run --reuse --name svccheck --focus 'hairpin'
  svccheck run --compare`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.proxySet = cmd.Flags().Changed("proxy")
			if o.kubeconfig != "" {
				for _, name := range []string{"name", "workers"} {
					if cmd.Flags().Changed(name) {
						return usageError("--%s applies to a kind cluster, not with --kubeconfig", name)
					}
				}
			}
			if err := o.complete(time.Now()); err != nil {
				return err
			}
			if o.listSpecs != "" {
				return o.listSpecList()
			}
			if o.compare {
				return runCompare(cmd.Context(), o, stdout, stderr)
			}
			return runSuites(cmd.Context(), o, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.proxy, "proxy", string(proxy.Svccheck), "Service proxy under test: svccheck, kube-proxy or kube-proxy:<iptables|nftables|ipvs>")
	fl.StringVar(&o.name, "name", "", "kind cluster name (default: svccheck-run, or svccheck with --reuse)")
	fl.BoolVar(&o.reuse, "reuse", false, "run against the existing cluster --name instead of creating one")
	fl.BoolVar(&o.keepCluster, "keep-cluster", false, "keep the cluster this run creates")
	fl.StringVar(&o.labelFilter, "label-filter", "", "run only specs matching this Ginkgo label filter, e.g. 'ClusterIP && !Slow'")
	fl.StringArrayVar(&o.focus, "focus", nil, "run only specs whose text matches this regular expression (repeatable)")
	fl.StringVar(&o.output, "output", "", "results directory (default ./svccheck-results/<timestamp>)")
	fl.DurationVar(&o.timeout, "timeout", 30*time.Minute, "time limit of the spec run")
	fl.IntVar(&o.parallel, "parallel", 1, "number of specs to run at once, each share of the specs in a child run on the same cluster")
	fl.BoolVarP(&o.verbose, "verbose", "v", false, "stream each spec's steps and output")
	fl.BoolVar(&o.compare, "compare", false, "run against svccheck's proxy and kube-proxy (iptables and nftables modes) and compare")
	fl.StringVar(&o.nodeImage, "node-image", "", "kind node image of a created cluster (default: see 'svccheck cluster create')")
	fl.IntVar(&o.workers, "workers", cluster.DefaultWorkers, "worker nodes of a created cluster (at least 2)")
	fl.IntVar(&o.scale, "scale", 0, "measure network programming latency with a burst of this many Services (runs the Scale specs alone; 0: never run them)")
	fl.StringVar(&o.breakMode, "break", "", "deploy svccheck's proxy broken on purpose, a comma-separated list of: "+strings.Join(proxyimpl.Breakages, ", "))
	_ = fl.MarkHidden("break")
	fl.BoolVar(&o.parallelChild, "parallel-child", false, "run as one share of a --parallel run")
	_ = fl.MarkHidden("parallel-child")
	fl.StringVar(&o.kubeconfig, "kubeconfig", "", "run against the cluster of this kubeconfig (any cluster; no kind, no Docker): its Service proxy is detected, node work goes through short-lived host pods")
	fl.StringVar(&o.kubeContext, "context", "", "with --kubeconfig: the kubeconfig context (default: its current context)")
	fl.StringVar(&o.image, "image", "", "with --kubeconfig: the svccheck image the test and host pods run, which the cluster must pull or have (default: the image of this binary, as 'svccheck cluster create' side-loads it)")
	fl.StringVar(&o.runID, "run-id", "", "the run id to label objects with (default: a new one)")
	_ = fl.MarkHidden("run-id")
	fl.StringVar(&o.listSpecs, "list-specs", "", "write the selected specs to this file as JSON instead of running them")
	_ = fl.MarkHidden("list-specs")
	return cmd
}

// defaultRunName is the cluster a run creates when --name is not given.
const defaultRunName = "svccheck-run"

// complete validates the flags and fills in defaults; now names the default
// output directory.
func (o *runOptions) complete(now time.Time) error {
	mode, err := proxy.ParseMode(o.proxy)
	if err != nil {
		return usageError("--proxy: %v", err)
	}
	o.proxyMode = mode
	if o.parallel < 1 {
		return usageError("--parallel must be at least 1, got %d", o.parallel)
	}
	if o.parallel > 1 && o.parallelChild {
		return usageError("--parallel-child runs one share of the specs: --parallel must be 1")
	}
	if o.timeout <= 0 {
		return usageError("--timeout must be positive, got %s", o.timeout)
	}
	if o.workers < 2 {
		return usageError("--workers must be at least 2 (the NodePort and externalTrafficPolicy specs need two workers), got %d", o.workers)
	}
	if o.labelFilter != "" {
		if _, err := types.ParseLabelFilter(o.labelFilter); err != nil {
			return usageError("--label-filter %q: %v", o.labelFilter, err)
		}
	}
	if o.scale < 0 {
		return usageError("--scale must be positive, got %d", o.scale)
	}
	if o.scale > 0 && o.parallel > 1 {
		return usageError("--scale measures alone: --parallel must be 1")
	}
	if o.breakMode != "" {
		_, names, err := proxyimpl.ParseBreak(o.breakMode)
		if err != nil {
			return usageError("--break: %v", err)
		}
		if mode != proxy.Svccheck && o.kubeconfig == "" {
			return usageError("--break applies to svccheck's proxy only, not --proxy %s", mode)
		}
		o.breakMode = strings.Join(names, ",")
	}
	if o.compare {
		if o.reuse {
			return usageError("--compare creates one cluster per proxy and cannot be used with --reuse")
		}
		if o.breakMode != "" {
			return usageError("--compare cannot be used with --break")
		}
	}
	if err := o.completeKubeconfig(); err != nil {
		return err
	}
	if o.runID == "" {
		o.runID = newRunID()
	}
	if o.reuse && o.nodeImage != "" {
		return usageError("--node-image applies to a cluster the run creates, not with --reuse")
	}
	if o.name == "" {
		o.name = defaultRunName
		if o.reuse {
			o.name = cluster.DefaultName
		}
	}
	if o.output == "" {
		o.output = filepath.Join("svccheck-results", now.UTC().Format("20060102-150405"))
	}
	if !o.parallelChild && o.listSpecs == "" {
		// A --parallel run makes its children's directories itself.
		if err := checkOutputFree(o.output); err != nil {
			return err
		}
	}
	return nil
}

// checkOutputFree refuses an output directory that already holds files:
// results of two runs mixed in one directory would read as one run's, and
// removing the old ones would lose them. It is the early check of the
// flags; claimOutput is the one that holds against a concurrent run.
func checkOutputFree(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return usageError("--output %s: %v", dir, err)
	case len(entries) > 0:
		if owner, err := os.ReadFile(filepath.Join(dir, reports.FileClaim)); err == nil && len(strings.TrimSpace(string(owner))) > 0 {
			return usageError("--output %s is claimed by %s: give a new or empty directory, so results of two runs are not mixed",
				dir, strings.TrimSpace(string(owner)))
		}
		return usageError("--output %s already holds %d files or directories (%s, ...): give a new or empty directory, so results of two runs are not mixed",
			dir, len(entries), entries[0].Name())
	}
	return nil
}

// claimOutput claims the output directory dir for this process
// (run.ClaimOutput).
func claimOutput(dir string) (release func(), err error) {
	return run.ClaimOutput(dir)
}

// completeKubeconfig checks the flags of a run against any cluster
// (--kubeconfig) and the flags that only apply to one.
func (o *runOptions) completeKubeconfig() error {
	if o.kubeconfig == "" {
		if o.kubeContext != "" || o.image != "" {
			return usageError("--context and --image apply with --kubeconfig only (a kind cluster gets this binary's image side-loaded)")
		}
		return nil
	}
	switch {
	case o.reuse, o.compare, o.keepCluster:
		return usageError("--kubeconfig runs against an existing cluster: --reuse, --compare and --keep-cluster do not apply")
	case o.nodeImage != "":
		return usageError("--node-image applies to a cluster the run creates, not with --kubeconfig")
	case o.proxySet:
		return usageError("--proxy does not apply with --kubeconfig: the run detects the cluster's Service proxy")
	}
	return nil
}
