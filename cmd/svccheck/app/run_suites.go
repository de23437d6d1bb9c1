package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/onsi/ginkgo/v2/types"

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

// runSuites is `svccheck run` against one proxy.
func runSuites(ctx context.Context, o *runOptions, stdout, stderr io.Writer) (err error) {
	start := time.Now()
	if o.parallelChild {
		// The parent run made and claimed this directory.
		if err := os.MkdirAll(o.output, 0o755); err != nil {
			return usageError("creating the output directory: %v", err)
		}
	} else {
		release, err := claimOutput(o.output)
		if err != nil {
			return err
		}
		defer release()
	}
	if !o.parallelChild {
		fmt.Fprintf(stderr, "run id %s: the namespaces and pods this run creates are labelled %s=%s\n", o.runID, diag.LabelRunID, o.runID)
	}
	c, created, err := obtainCluster(ctx, o, stderr)
	if err != nil {
		return err
	}
	if !c.Kind() {
		defer closeHostPods(ctx, c, stderr)
	}
	if created && !o.keepCluster {
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
			left.removeCluster(c.Name)
		}()
	} else if created {
		left.removeCluster(c.Name) // kept on purpose
		defer fmt.Fprintf(stderr, "kept cluster %s (delete it with: svccheck cluster delete --name %s)\n", c.Name, c.Name)
	}
	clusterReady := time.Since(start)
	if o.breakMode != "" && !o.parallelChild {
		restore, err := breakProxy(ctx, c, o.breakMode, stderr)
		if err != nil {
			return err
		}
		if !created || o.keepCluster {
			// A cluster that outlives the run gets its intact proxy back.
			defer func() { err = errors.Join(err, restore()) }()
		}
	}
	res, err := runAndReport(ctx, o, c, created, stdout, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cluster ready after %s, specs ran %s, total %s; results in %s\n",
		reports.FormatDuration(clusterReady), reports.FormatDuration(res.Meta.End.Sub(res.Meta.Start)),
		reports.FormatDuration(time.Since(start)), o.output)
	if !res.Passed() {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%s; see %s", reports.StatusLine(res), o.output)}
	}
	return nil
}

// breakProxy deploys svccheck's proxy broken on purpose and returns the
// function that restores it.
func breakProxy(ctx context.Context, c *cluster.Cluster, breakages string, stderr io.Writer) (restore func() error, err error) {
	fmt.Fprintf(stderr, "breaking the svccheck proxy on purpose: %s=%s\n", breakEnv, breakages)
	if err := workload.SetProxyEnv(ctx, c.Clientset, cluster.ProxyNamespace, cluster.ProxyName, breakEnv, breakages, 2*time.Minute); err != nil {
		return nil, usageError("breaking the proxy: %v", err)
	}
	return func() error {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		fmt.Fprintf(stderr, "restoring the svccheck proxy (removing %s)\n", breakEnv)
		if err := workload.SetProxyEnv(tctx, c.Clientset, cluster.ProxyNamespace, cluster.ProxyName, breakEnv, "", 2*time.Minute); err != nil {
			return fmt.Errorf("restoring the proxy: %w", err)
		}
		return nil
	}, nil
}

// runAndReport runs the specs on c, dumps the nodes and the cluster, and
// writes the reports and the terminal table. A run whose specs failed, or
// that was interrupted, is not an error here: the results say so.
func runAndReport(ctx context.Context, o *runOptions, c *cluster.Cluster, created bool, stdout, stderr io.Writer) (reports.Results, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return reports.Results{}, usageError("%v", err)
	}
	if !created && !o.parallelChild && c.Kind() {
		// svccheck may have been rebuilt since the cluster was made: the
		// agent pods need this build's image.
		if err := c.EnsureSvccheck(ctx, "", stderr); err != nil {
			if ctx.Err() != nil {
				return reports.Results{}, interruptedError(err)
			}
			return reports.Results{}, usageError("loading this svccheck build onto cluster %s: %v", c.Name, err)
		}
	}
	collector := &diag.Collector{Clientset: c.Clientset, ProxyMode: string(c.Proxy), NodeImage: c.NodeImage,
		ProxySource: c.ProxySource, RunID: o.runID}
	if c.Proxy == cluster.ProxySvccheck {
		// versions.yaml reads the image from the proxy's DaemonSet; this
		// is what the run deployed, should that read fail.
		collector.ProxyImage = c.Image
	}
	dnodes := diagNodes(nodes)
	if err := ctx.Err(); err != nil {
		// Interrupted since the cluster was ready: no spec to report.
		return reports.Results{}, interruptedError(err)
	}
	specStart := time.Now()
	report, passed, err := runSpecs(ctx, o, c, created, nodes, collector, stderr)
	// A --parallel run that lost a child still reports what the others ran.
	var harness *harnessError
	if errors.As(err, &harness) {
		err = nil
	}
	if err != nil {
		return reports.Results{}, err
	}
	specEnd := time.Now()
	if report.PreRunStats.SpecsThatWillRun == 0 {
		return reports.Results{}, o.noSpecsError()
	}
	if o.parallelChild {
		// The parent run dumps the nodes and the cluster and writes the
		// merged reports from this one.
		res := reports.FromGinkgo(report, reports.Metadata{ProxyMode: string(c.Proxy), ClusterName: c.Name, Start: specStart, End: specEnd})
		// The specs of the other shares are skipped here; this share's
		// summary and status line are about its own.
		res.Specs = slices.DeleteFunc(res.Specs, func(s reports.Spec) bool { return s.Result == reports.ResultSkipped })
		if err := reports.WriteFiles(o.output, report, res); err != nil {
			return res, fmt.Errorf("writing the reports: %w", err)
		}
		return res, nil
	}

	meta := reports.Metadata{
		ProxyMode: string(c.Proxy), ProxySource: c.ProxySource, RunID: o.runID, ClusterName: c.Name, NodeImage: c.NodeImage,
		KubernetesVersion: dumpAfterRun(ctx, collector, dnodes, o.output, stderr), Start: specStart, End: specEnd,
	}
	if o.breakMode != "" {
		meta.ProxyMode += " (broken: " + o.breakMode + ")"
	}
	res := reports.FromGinkgo(report, meta)
	// report.json is Ginkgo's report: the run id goes in as a suite label.
	report.SuiteLabels = append(report.SuiteLabels, diag.LabelRunID+"="+o.runID)
	if err := reports.WriteFiles(o.output, report, res); err != nil {
		return res, fmt.Errorf("writing the reports: %w", err)
	}
	findings, doctorRan := doctorAfterRun(ctx, collector, c.Kind(), o.output, stderr)
	writeHTMLReport(o.output, reports.HTMLReport{Results: res, Findings: findings, DoctorRan: doctorRan,
		Traces: failureTraces(o.output, res)}, stderr)
	if err := reports.WriteTable(stdout, res); err != nil {
		return res, fmt.Errorf("writing the summary table: %w", err)
	}
	if err := writeScale(o.output, report, stdout); err != nil {
		return res, err
	}
	writeSuiteTimes(stderr, res)
	if harness != nil {
		return res, harness.err
	}
	if !passed && res.Passed() {
		// Ginkgo failed the run for a reason beside the specs, neither a
		// failed suite-level node nor an interruption (both are in the
		// results); the results alone would read as a pass.
		return res, &ExitError{Code: ExitFailed, Err: fmt.Errorf("the spec run failed outside the specs; see %s", o.output)}
	}
	return res, nil
}

// runSpecs runs the selected specs on c: in this process, or with
// --parallel N in N child runs (runShares).
func runSpecs(ctx context.Context, o *runOptions, c *cluster.Cluster, created bool, nodes []cluster.Node,
	collector *diag.Collector, stderr io.Writer) (types.Report, bool, error) {
	if !o.parallelChild {
		fmt.Fprintf(stderr, "%s: running the specs on cluster %s\n", stageSpecs, c.Name)
	}
	if o.parallel > 1 {
		return runShares(ctx, o, c.Name, stderr)
	}
	env := newSpecEnv(ctx, c, created, nodes, collector, o.output, stderr)
	// The labels preflight checks admission against: managed-by, run id
	// and the privileged Pod Security level the host-network agents need.
	env.Labels = preflight.NamespaceLabels(o.runID)
	ext, reason := newExternalClient(ctx, c, stderr)
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
	env.Scale = o.scale
	if err := specs.SetEnv(env); err != nil {
		return types.Report{}, false, usageError("%v", err)
	}
	report, passed, err := runner.Run(runner.Options{
		Description: suiteDescription(o), LabelFilter: o.specFilter(), Focus: o.focus,
		Timeout: o.timeout, Verbose: o.verbose, Progress: stderr,
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

// writeSuiteTimes prints how long each suite's specs took together.
func writeSuiteTimes(w io.Writer, res reports.Results) {
	var order []string
	took := map[string]time.Duration{}
	count := map[string]int{}
	for _, s := range res.Specs {
		if s.Result == reports.ResultSkipped || s.Result == reports.ResultPending {
			continue
		}
		if _, ok := took[s.Suite]; !ok {
			order = append(order, s.Suite)
		}
		took[s.Suite] += s.Duration
		count[s.Suite]++
	}
	for _, suite := range order {
		fmt.Fprintf(w, "suite %s: %d specs in %s\n", suite, count[suite], reports.FormatDuration(took[suite]))
	}
}

// obtainCluster returns the cluster of the run, creating it unless --reuse;
// created says whether this run made it.
func obtainCluster(ctx context.Context, o *runOptions, stderr io.Writer) (c *cluster.Cluster, created bool, err error) {
	if o.kubeconfig != "" {
		c, err := connectCluster(ctx, o, stderr)
		return c, false, err
	}
	if o.reuse {
		c, err := cluster.Get(ctx, o.name)
		if err != nil {
			return nil, false, runClusterError(err, o.name)
		}
		if c.Proxy != o.proxyMode {
			return nil, false, usageError("cluster %s runs %s, not --proxy %s", c.Name, c.Proxy, o.proxyMode)
		}
		fmt.Fprintf(stderr, "reusing cluster %s (%s)\n", c.Name, c.Proxy)
		return c, false, nil
	}
	// A forced quit from here on leaves the cluster (half) made.
	left.addCluster(o.name)
	c, err = cluster.Create(ctx, cluster.Options{
		Name: o.name, Workers: o.workers, Proxy: o.proxyMode, NodeImage: o.nodeImage, Progress: stderr,
	})
	if err != nil {
		// Create deleted what it made (or the name was another's).
		left.removeCluster(o.name)
		if ctx.Err() != nil {
			return nil, false, interruptedError(err)
		}
		return nil, false, runClusterError(err, o.name)
	}
	return c, true, nil
}

// interruptedError is the error of a run interrupted before its specs
// ran: exit code 1, as for an interrupted spec run, not that of an
// environment error.
func interruptedError(err error) error {
	return &ExitError{Code: ExitFailed, Err: fmt.Errorf("interrupted before the specs ran: %w", err)}
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
