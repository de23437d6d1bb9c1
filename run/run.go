package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/proxyimpl"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
	"github.com/svccheck/svccheck/suites/preflight"
	"github.com/svccheck/svccheck/suites/runner"
	"github.com/svccheck/svccheck/suites/specs"
	"github.com/svccheck/svccheck/suites/workload"
)

// Stage markers of a run, after those of making its cluster
// (cluster.StageBuild, StageCreate, StageLoad): each starts the progress
// line of its stage.
const (
	stageSpecs  = "stage: specs"
	stageDumps  = "stage: dumps"
	stageDelete = "stage: cluster delete"
)

// teardownTimeout bounds deleting the cluster and the final dumps, which run
// even after Ctrl-C.
const teardownTimeout = 3 * time.Minute

// Run runs the selected specs in this process against the cluster of o
// (created, reused, or reached through o.Kubeconfig), dumps the nodes and
// the cluster, and writes the reports into o.Output. A spec that failed is
// no error: the Result's Status says so. Ginkgo runs specs once per
// process, so Run runs once in a process; Parallel and Compare run it in
// child processes.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Parallel > 1 {
		return Result{}, usageError("Run runs the specs in this process: %d parallel runs are Parallel's", o.Parallel)
	}
	return runSuites(ctx, &o)
}

// Parallel is Run with the specs dealt out to o.Parallel child runs of
// o.Executable on the same cluster; it dumps the nodes and writes the
// merged reports itself.
func Parallel(ctx context.Context, o Options) (Result, error) {
	if o.Parallel < 2 || o.ParallelChild {
		return Result{}, usageError("Parallel wants at least 2 parallel runs and is no child run, got %d", o.Parallel)
	}
	return runSuites(ctx, &o)
}

// runSuites is Run and Parallel.
func runSuites(ctx context.Context, o *Options) (result Result, err error) {
	if err := o.defaults(); err != nil {
		return Result{Status: Unusable}, err
	}
	// Runs last, after the teardown: its error counts too.
	defer func() { result.Status = StatusOf(err) }()
	stderr, left := o.progress(), o.Leftovers
	start := time.Now()
	if o.ParallelChild {
		// The parent run made and claimed this directory.
		if err := os.MkdirAll(o.Output, 0o755); err != nil {
			return Result{}, usageError("creating the output directory: %v", err)
		}
	} else {
		release, err := ClaimOutput(o.Output)
		if err != nil {
			return Result{}, err
		}
		defer release()
	}
	if !o.ParallelChild {
		fmt.Fprintf(stderr, "run id %s: the namespaces and pods this run creates are labelled %s=%s\n", o.RunID, diag.LabelRunID, o.RunID)
	}
	c, created, err := obtainCluster(ctx, o, stderr)
	if err != nil {
		return Result{}, err
	}
	if !c.Kind() {
		defer closeHostPods(ctx, c, left, stderr)
	}
	if created && !o.KeepCluster {
		defer func() {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
			defer cancel()
			fmt.Fprintf(stderr, "%s: deleting cluster %s\n", stageDelete, c.Name)
			derr := c.Delete(tctx)
			if derr != nil && tctx.Err() == nil {
				// A Ctrl-C typed at a terminal reaches the whole process
				// group, so the docker commands of the delete die with
				// it: once more, now that the signal has passed.
				fmt.Fprintf(stderr, "deleting cluster %s failed (%v); trying again\n", c.Name, derr)
				derr = c.Delete(tctx)
			}
			if derr != nil {
				err = errors.Join(err, fmt.Errorf("deleting cluster %s: %w", c.Name, derr))
				return
			}
			left.RemoveCluster(c.Name)
		}()
	} else if created {
		left.RemoveCluster(c.Name) // kept on purpose
		defer fmt.Fprintf(stderr, "kept cluster %s (delete it with: svccheck cluster delete --name %s)\n", c.Name, c.Name)
	}
	clusterReady := time.Since(start)
	if o.Break != "" && !o.ParallelChild {
		restore, err := breakProxy(ctx, c, o.Break, stderr)
		if err != nil {
			return Result{}, err
		}
		if !created || o.KeepCluster {
			// A cluster that outlives the run gets its intact proxy back.
			defer func() { err = errors.Join(err, restore()) }()
		}
	}
	result, err = runAndReport(ctx, o, c, created, stderr)
	result.Output, result.ClusterReady, result.Total = o.Output, clusterReady, time.Since(start)
	if err == nil && !result.Results.Passed() {
		err = &Error{Status: Failed, Err: fmt.Errorf("%s; see %s", reports.StatusLine(result.Results), o.Output)}
	}
	return result, err
}

// breakProxy deploys svccheck's proxy broken on purpose and returns the
// function that restores it.
func breakProxy(ctx context.Context, c *cluster.Cluster, breakages string, stderr io.Writer) (restore func() error, err error) {
	fmt.Fprintf(stderr, "breaking the svccheck proxy on purpose: %s=%s\n", proxyimpl.BreakEnv, breakages)
	if err := workload.SetProxyEnv(ctx, c.Clientset, cluster.ProxyNamespace, cluster.ProxyName, proxyimpl.BreakEnv, breakages, 2*time.Minute); err != nil {
		return nil, usageError("breaking the proxy: %v", err)
	}
	return func() error {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		fmt.Fprintf(stderr, "restoring the svccheck proxy (removing %s)\n", proxyimpl.BreakEnv)
		if err := workload.SetProxyEnv(tctx, c.Clientset, cluster.ProxyNamespace, cluster.ProxyName, proxyimpl.BreakEnv, "", 2*time.Minute); err != nil {
			return fmt.Errorf("restoring the proxy: %w", err)
		}
		return nil
	}, nil
}

// runAndReport runs the specs on c, dumps the nodes and the cluster, and
// writes the reports. A run whose specs failed, or that was interrupted,
// is not an error here: the results say so.
func runAndReport(ctx context.Context, o *Options, c *cluster.Cluster, created bool, stderr io.Writer) (Result, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Result{}, usageError("%v", err)
	}
	if !created && !o.ParallelChild && c.Kind() {
		// svccheck may have been rebuilt since the cluster was made: the
		// agent pods need this build's image.
		if err := c.EnsureSvccheck(ctx, "", stderr); err != nil {
			if ctx.Err() != nil {
				return Result{}, interruptedError(err)
			}
			return Result{}, usageError("loading this svccheck build onto cluster %s: %v", c.Name, err)
		}
	}
	under := proxy.Proxy{Mode: c.Proxy, Source: c.ProxySource, Broken: o.broken()}
	collector := &diag.Collector{Clientset: c.Clientset, Proxy: under, NodeImage: c.NodeImage, RunID: o.RunID}
	if c.Proxy == proxy.Svccheck {
		// versions.yaml reads the image from the proxy's DaemonSet; this
		// is what the run deployed, should that read fail.
		collector.ProxyImage = c.Image
	}
	dnodes := diagNodes(nodes)
	if err := ctx.Err(); err != nil {
		// Interrupted since the cluster was ready: no spec to report.
		return Result{}, interruptedError(err)
	}
	specStart := time.Now()
	report, passed, err := runSpecs(ctx, o, c, created, nodes, collector, stderr)
	// A Parallel run that lost a child still reports what the others ran.
	var harness *harnessError
	if errors.As(err, &harness) {
		err = nil
	}
	if err != nil {
		return Result{}, err
	}
	specEnd := time.Now()
	if report.PreRunStats.SpecsThatWillRun == 0 {
		return Result{}, o.noSpecsError()
	}
	if o.ParallelChild {
		// The parent run dumps the nodes and the cluster and writes the
		// merged reports from this one.
		res := reports.FromGinkgo(report, reports.Metadata{Proxy: proxy.Proxy{Mode: c.Proxy}, ClusterName: c.Name, Start: specStart, End: specEnd})
		// The specs of the other shares are skipped here; this share's
		// summary and status line are about its own.
		res.Specs = slices.DeleteFunc(res.Specs, func(s reports.Spec) bool { return s.Result == reports.ResultSkipped })
		if err := reports.WriteFiles(o.Output, report, res); err != nil {
			return Result{Results: res}, fmt.Errorf("writing the reports: %w", err)
		}
		return Result{Results: res, Written: true}, nil
	}

	meta := reports.Metadata{
		Proxy: under, RunID: o.RunID, ClusterName: c.Name, NodeImage: c.NodeImage,
		KubernetesVersion: dumpAfterRun(ctx, collector, dnodes, o.Output, stderr), Start: specStart, End: specEnd,
	}
	res := reports.FromGinkgo(report, meta)
	// report.json is Ginkgo's report: the run id and the proxy under test
	// go in as suite labels.
	report.SuiteLabels = append(report.SuiteLabels, diag.LabelRunID+"="+o.RunID)
	report.SuiteLabels = append(report.SuiteLabels, reports.ProxyLabels(under)...)
	if err := reports.WriteFiles(o.Output, report, res); err != nil {
		return Result{Results: res}, fmt.Errorf("writing the reports: %w", err)
	}
	result := Result{Results: res, Written: true}
	findings, doctorRan := doctorAfterRun(ctx, collector, c.Kind(), o.Output, stderr)
	WriteHTMLReport(o.Output, reports.HTMLReport{Results: res, Findings: findings, DoctorRan: doctorRan,
		Traces: failureTraces(o.Output, res)}, stderr)
	scale, err := writeScale(o.Output, report)
	if err != nil {
		return result, err
	}
	result.Scale = scale
	if harness != nil {
		return result, harness.err
	}
	if !passed && res.Passed() {
		// Ginkgo failed the run for a reason beside the specs, neither a
		// failed suite-level node nor an interruption (both are in the
		// results); the results alone would read as a pass.
		return result, &Error{Status: Failed, Err: fmt.Errorf("the spec run failed outside the specs; see %s", o.Output)}
	}
	return result, nil
}

// runSpecs runs the selected specs on c: in this process, or for Parallel
// in o.Parallel child runs (runShares).
func runSpecs(ctx context.Context, o *Options, c *cluster.Cluster, created bool, nodes []cluster.Node,
	collector *diag.Collector, stderr io.Writer) (types.Report, bool, error) {
	if !o.ParallelChild {
		fmt.Fprintf(stderr, "%s: running the specs on cluster %s\n", stageSpecs, c.Name)
	}
	if o.Parallel > 1 {
		return runShares(ctx, o, c.Name, stderr)
	}
	env := newSpecEnv(ctx, c, created, nodes, collector, o.Output, stderr)
	// The labels preflight checks admission against: managed-by, run id
	// and the privileged Pod Security level the host-network agents need.
	env.Labels = preflight.NamespaceLabels(o.RunID)
	ext, reason := newExternalClient(ctx, c, o.Leftovers, stderr)
	if ext != nil {
		env.External = ext.get
		defer func() {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
			defer cancel()
			if err := ext.remove(tctx); err != nil {
				fmt.Fprintf(stderr, "warning: %v\n", err)
			}
		}()
	}
	env.NoExternal = reason
	env.Scale = o.Scale
	if err := specs.SetEnv(env); err != nil {
		return types.Report{}, false, usageError("%v", err)
	}
	report, passed, err := runner.Run(runner.Options{
		Description: suiteDescription(o), LabelFilter: o.specFilter(), Focus: o.Focus,
		Timeout: o.Timeout, Verbose: o.Verbose, Progress: stderr,
	})
	if err != nil {
		return types.Report{}, false, fmt.Errorf("running the suites: %w", err)
	}
	return report, passed, nil
}

// dumpAfterRun dumps every node and the kube-system objects, with
// cluster/versions.yaml, into outDir, also after Ctrl-C, and returns the API
// server's version.
func dumpAfterRun(ctx context.Context, collector *diag.Collector, nodes []diag.Node, outDir string, stderr io.Writer) string {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	fmt.Fprintf(stderr, "%s: dumping %d nodes and the cluster objects into %s\n", stageDumps, len(nodes), outDir)
	if _, err := collector.CollectNodes(dctx, nodes, outDir); err != nil {
		fmt.Fprintf(stderr, "warning: node dumps incomplete: %v\n", err)
	}
	if err := collector.CollectCluster(dctx, []string{cluster.ProxyNamespace}, outDir); err != nil {
		fmt.Fprintf(stderr, "warning: cluster dump incomplete: %v\n", err)
	}
	return collector.ClusterVersions(dctx).ServerVersion
}

// obtainCluster returns the cluster of the run, creating it unless --reuse;
// created says whether this run made it.
func obtainCluster(ctx context.Context, o *Options, stderr io.Writer) (c *cluster.Cluster, created bool, err error) {
	if o.Kubeconfig != "" {
		c, err := connectCluster(ctx, o, stderr)
		return c, false, err
	}
	if o.Reuse {
		c, err := cluster.Get(ctx, o.Name)
		if err != nil {
			return nil, false, runClusterError(err, o.Name)
		}
		if c.Proxy != o.Proxy {
			return nil, false, usageError("cluster %s runs %s, not --proxy %s", c.Name, c.Proxy, o.Proxy)
		}
		fmt.Fprintf(stderr, "reusing cluster %s (%s)\n", c.Name, c.Proxy)
		return c, false, nil
	}
	// A forced quit from here on leaves the cluster (half) made.
	o.Leftovers.AddCluster(o.Name)
	c, err = cluster.Create(ctx, cluster.Options{
		Name: o.Name, Workers: o.Workers, Proxy: o.Proxy, NodeImage: o.NodeImage, Progress: stderr,
	})
	if err != nil {
		// Create deleted what it made (or the name was another's).
		o.Leftovers.RemoveCluster(o.Name)
		if ctx.Err() != nil {
			return nil, false, interruptedError(err)
		}
		return nil, false, runClusterError(err, o.Name)
	}
	return c, true, nil
}

// interruptedError is the error of a run interrupted before its specs
// ran: exit code 1, as for an interrupted spec run, not that of an
// environment error.
func interruptedError(err error) error {
	return &Error{Status: Failed, Err: fmt.Errorf("interrupted before the specs ran: %w", err)}
}

// runClusterError maps the cluster package's errors to exit codes: every
// failure to get a cluster is an environment error (exit 2).
func runClusterError(err error, name string) error {
	switch {
	case errors.Is(err, cluster.ErrExists):
		return usageError("%v (delete it with 'svccheck cluster delete --name %s' or run with --reuse)", err, name)
	case errors.Is(err, cluster.ErrNotFound):
		return usageError("%v (create it with 'svccheck cluster create --name %s', or drop --reuse)", err, name)
	}
	return usageError("%v", err)
}

func specNodes(nodes []cluster.Node) []specs.Node {
	out := make([]specs.Node, len(nodes))
	for i, n := range nodes {
		out[i] = specs.Node{Name: n.Name, Role: n.Role, IP: n.InternalIP, Cmder: n.Cmder}
	}
	return out
}

func diagNodes(nodes []cluster.Node) []diag.Node {
	out := make([]diag.Node, len(nodes))
	for i, n := range nodes {
		out[i] = diag.Node{Name: n.Name, Cmder: n.Cmder}
	}
	return out
}

// failureCollector dumps the nodes when a spec fails and every spec's
// namespace into the run's output directory.
type failureCollector struct {
	collector *diag.Collector
	nodes     []diag.Node
	outDir    string
}

var _ specs.FailureCollector = (*failureCollector)(nil)

func (f *failureCollector) CollectFailure(ctx context.Context, specSlug string) ([]string, error) {
	dirs, err := f.collector.CollectFailure(ctx, f.nodes, specSlug, f.outDir)
	if err != nil {
		return dirs, fmt.Errorf("dumping nodes for %s: %w", specSlug, err)
	}
	return dirs, nil
}

func (f *failureCollector) CollectNamespace(ctx context.Context, namespace string) error {
	if err := f.collector.CollectNamespace(ctx, namespace, f.outDir); err != nil {
		return fmt.Errorf("dumping namespace %s: %w", namespace, err)
	}
	return nil
}
