package app

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/run"
)

// library returns the options of the run library from the flags.
func (o *runOptions) library(stderr io.Writer) run.Options {
	return run.Options{
		Proxy: o.proxyMode, Name: o.name, Reuse: o.reuse, KeepCluster: o.keepCluster,
		LabelFilter: o.labelFilter, Focus: o.focus, Output: o.output, Timeout: o.timeout,
		Parallel: o.parallel, Verbose: o.verbose, Break: o.breakMode, NodeImage: o.nodeImage,
		Workers: o.workers, Scale: o.scale, ParallelChild: o.parallelChild,
		Kubeconfig: o.kubeconfig, Context: o.kubeContext, Image: o.image, RunID: o.runID,
		Progress: stderr, Leftovers: left,
	}
}

// listSpecList is the hidden --list-specs of a --parallel run's child.
func (o *runOptions) listSpecList() error {
	return run.ListSpecs(o.library(io.Discard), o.listSpecs)
}

// runSuites is `svccheck run` against one proxy: in this process, or with
// --parallel N in N child runs. It prints the summary table, the scale
// figures and the suites' times of the results.
func runSuites(ctx context.Context, o *runOptions, stdout, stderr io.Writer) error {
	lo := o.library(stderr)
	if o.kubeconfig != "" {
		image, err := hostPodImage(o.image)
		if err != nil {
			return err
		}
		lo.Image = image
	}
	do := run.Run
	if o.parallel > 1 {
		do = run.Parallel
	}
	res, err := do(ctx, lo)
	if res.Written && !o.parallelChild {
		if perr := printResults(res, stdout, stderr); perr != nil {
			return perr
		}
	}
	if res.Written {
		fmt.Fprintf(stderr, "cluster ready after %s, specs ran %s, total %s; results in %s\n",
			reports.FormatDuration(res.ClusterReady), reports.FormatDuration(res.Results.Meta.End.Sub(res.Results.Meta.Start)),
			reports.FormatDuration(res.Total), res.Output)
	}
	return err
}

// printResults prints a run's summary table, scale figures and suite times.
func printResults(res run.Result, stdout, stderr io.Writer) error {
	if err := reports.WriteTable(stdout, res.Results); err != nil {
		return fmt.Errorf("writing the summary table: %w", err)
	}
	if res.Scale != nil {
		fmt.Fprintln(stdout)
		if err := reports.WriteScaleMarkdown(stdout, *res.Scale); err != nil {
			return fmt.Errorf("writing the scale figures: %w", err)
		}
	}
	writeSuiteTimes(stderr, res.Results)
	return nil
}

// runCompare is `svccheck run --compare`: it prints the comparison table
// and the scale figures side by side.
func runCompare(ctx context.Context, o *runOptions, stdout, stderr io.Writer) error {
	lo := o.library(stderr)
	lo.Stdout = stdout
	res, err := run.Compare(ctx, lo)
	if res.Comparison != nil {
		if perr := printComparison(res, stdout, stderr); perr != nil {
			return perr
		}
	}
	return err
}

// printComparison prints the comparison of a --compare run.
func printComparison(res run.Comparison, stdout, stderr io.Writer) error {
	fmt.Fprintln(stdout)
	if err := reports.WriteComparison(stdout, *res.Comparison); err != nil {
		return fmt.Errorf("writing the comparison: %w", err)
	}
	if len(res.Scale) > 0 {
		fmt.Fprintln(stdout)
		if err := reports.WriteScaleComparison(stdout, res.Scale); err != nil {
			return fmt.Errorf("comparing the scale figures: %w", err)
		}
	}
	fmt.Fprintf(stderr, "comparison in %s\n", filepath.Join(res.Output, reports.FileComparison))
	return nil
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
