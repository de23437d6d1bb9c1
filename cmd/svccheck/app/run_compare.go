package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/cluster"
)

// compareModes are the proxies `svccheck run --compare` puts side by side:
// svccheck's, and kube-proxy in iptables and in nftables mode.
var compareModes = []cluster.ProxyMode{cluster.ProxySvccheck, cluster.ProxyKubeProxy, cluster.ProxyKubeProxyNFTables}

// childWaitDelay is how long a child run may take, once interrupted, to
// finish: Ginkgo runs the current spec's cleanup (its namespace deletion
// and dumps), the child dumps every node, writes its reports and deletes
// its kind cluster (5-20 s). After that the child is killed.
const childWaitDelay = teardownTimeout

// compareWaitDelay is childWaitDelay for a --compare child, which may wait
// for --parallel children of its own before it dumps and deletes.
const compareWaitDelay = 2 * teardownTimeout

// childStarter returns the command of one child run with args (what
// childArgs returns), bound to ctx.
type childStarter func(ctx context.Context, args []string) *osexec.Cmd

// runCompare runs the suites once per proxy, each in a child process of this
// binary (Ginkgo runs specs once per process) on its own cluster, then writes
// comparison.md and prints the comparison table.
func runCompare(ctx context.Context, o *runOptions, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return usageError("finding the svccheck binary: %v", err)
	}
	release, err := claimOutput(o.output)
	if err != nil {
		return err
	}
	defer release()
	return compareRuns(ctx, o, func(ctx context.Context, args []string) *osexec.Cmd {
		return childCommand(ctx, self, args, stdout, stderr, compareWaitDelay)
	}, stdout, stderr)
}

// childCommand returns the command running self with args as a child run,
// writing to stdout and stderr. Cancelling ctx interrupts the child (SIGINT)
// instead of killing it, so it tears down as after a Ctrl-C of its own:
// deletes its cluster and writes its reports, within wait. Run it with
// left.runChild, so a forced quit reaches it too.
//
// The child runs in a process group of its own, so a Ctrl-C at the terminal
// reaches only this process, which passes it on once. Were the child in the
// terminal's group it would get two: the terminal's and ours, and Ginkgo
// takes a second interrupt as "skip the cleanup", which leaks the spec's
// namespace and skips its dumps.
func childCommand(ctx context.Context, self string, args []string, stdout, stderr io.Writer, wait time.Duration) *osexec.Cmd {
	cmd := osexec.CommandContext(ctx, self, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		fmt.Fprintf(stderr, "interrupted: waiting up to %s for the child run (pid %d) to delete its cluster and write its reports\n",
			wait, cmd.Process.Pid)
		return cmd.Process.Signal(os.Interrupt)
	}
	cmd.WaitDelay = wait
	return cmd
}

// compareRuns is runCompare with the child runs started by start.
func compareRuns(ctx context.Context, o *runOptions, start childStarter, stdout, stderr io.Writer) error {
	var runs []reports.Results
	failed := false
	for _, mode := range compareModes {
		if ctx.Err() != nil {
			break // interrupted: start no further cluster
		}
		dir := filepath.Join(o.output, modeDir(mode))
		args := o.childArgs(mode, dir)
		fmt.Fprintf(stderr, "== %s: svccheck %s\n", mode, strings.Join(args, " "))
		code := ExitOK
		if !o.keepCluster {
			left.addCluster(o.childName(mode))
		}
		err := left.runChild(start(ctx, args))
		if err == nil || childExitCode(err) == ExitFailed {
			left.removeCluster(o.childName(mode)) // the child deleted it
		}
		if err != nil {
			code = childExitCode(err)
		}
		res, rerr := readResults(filepath.Join(dir, reports.FileJSON), string(mode))
		if ctx.Err() != nil {
			if code < 0 {
				fmt.Fprintf(stderr, "warning: the %s run did not finish within %s of its interrupt (%v); its cluster may be left: svccheck cluster delete --name %s\n",
					mode, childWaitDelay, err, o.childName(mode))
			}
			if rerr == nil {
				runs = append(runs, res)
			}
			return compareInterrupted(o, runs, code, stdout, stderr)
		}
		if code != ExitOK && code != ExitFailed {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("the %s run failed (exit %d): %w", mode, code, err)}
		}
		if rerr != nil {
			return usageError("%v", rerr)
		}
		failed = failed || code == ExitFailed
		runs = append(runs, res)
	}
	if ctx.Err() != nil {
		return compareInterrupted(o, runs, ExitOK, stdout, stderr)
	}
	c, err := writeComparison(o, runs, stdout, stderr)
	if err != nil {
		return err
	}
	if failed {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("specs failed (%d disagreements between proxies); see %s", c.Disagreements(), o.output)}
	}
	return nil
}

// compareInterrupted ends a --compare run cut short by Ctrl-C: it writes the
// comparison when every proxy's run got as far as writing its results. It
// returns exit code 2 when the interrupted child exited 2 (interrupted
// before its specs ran, say while creating its cluster), else 1.
func compareInterrupted(o *runOptions, runs []reports.Results, code int, stdout, stderr io.Writer) error {
	if len(runs) == len(compareModes) {
		if _, err := writeComparison(o, runs, stdout, stderr); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stderr, "interrupted before every proxy's run finished: no %s\n", reports.FileComparison)
	}
	if code != ExitUsage {
		code = ExitFailed
	}
	return &ExitError{Code: code, Err: fmt.Errorf("interrupted; the runs' reports are in %s", o.output)}
}

// writeComparison writes comparison.md of runs into the output directory
// and prints the comparison table.
func writeComparison(o *runOptions, runs []reports.Results, stdout, stderr io.Writer) (reports.Comparison, error) {
	c := reports.Compare(runs...)
	if err := reports.WriteComparisonFile(o.output, c); err != nil {
		return c, fmt.Errorf("writing the comparison: %w", err)
	}
	fmt.Fprintln(stdout)
	if err := reports.WriteComparison(stdout, c); err != nil {
		return c, fmt.Errorf("writing the comparison: %w", err)
	}
	var dirs []string
	for _, mode := range compareModes {
		dirs = append(dirs, modeDir(mode))
	}
	if err := compareScale(o.output, dirs, stdout); err != nil {
		return c, err
	}
	writeComparisonHTML(o.output, c, dirs, stderr)
	fmt.Fprintf(stderr, "comparison in %s\n", filepath.Join(o.output, reports.FileComparison))
	return c, nil
}

// childArgs is the command line of the child run against mode.
func (o *runOptions) childArgs(mode cluster.ProxyMode, dir string) []string {
	args := []string{"run", "--proxy", string(mode), "--name", o.childName(mode), "--output", dir,
		"--timeout", o.timeout.String(), "--workers", strconv.Itoa(o.workers)}
	args = append(args, o.filterArgs()...)
	if o.nodeImage != "" {
		args = append(args, "--node-image", o.nodeImage)
	}
	if o.keepCluster {
		args = append(args, "--keep-cluster")
	}
	if o.verbose {
		args = append(args, "-v")
	}
	if o.parallel > 1 {
		args = append(args, "--parallel", strconv.Itoa(o.parallel))
	}
	return args
}

// filterArgs are the --label-filter and --focus flags of o, for a child run
// that selects the same specs.
func (o *runOptions) filterArgs() []string {
	var args []string
	if o.labelFilter != "" {
		args = append(args, "--label-filter", o.labelFilter)
	}
	for _, f := range o.focus {
		args = append(args, "--focus", f)
	}
	if o.scale > 0 {
		args = append(args, "--scale", strconv.Itoa(o.scale))
	}
	return args
}

// noSpecsError is the usage error of filters that select no spec.
func (o *runOptions) noSpecsError() error {
	return usageError("--label-filter %q and --focus %q select no specs", o.labelFilter, o.focus)
}

// childName is the name of the cluster of the child run against mode.
func (o *runOptions) childName(mode cluster.ProxyMode) string {
	return o.name + "-" + modeDir(mode)
}

// modeDir names a proxy mode's output directory and cluster suffix.
func modeDir(m cluster.ProxyMode) string {
	return strings.ReplaceAll(string(m), ":", "-")
}

// childExitCode returns the exit status of a child run from the error of
// its Run: os/exec's ExitError, or kind's exec RunError, which does not
// unwrap to the process's error. Any other error (the child did not start)
// is ExitUsage.
func childExitCode(err error) int {
	var re *exec.RunError
	if errors.As(err, &re) && re.Inner != nil {
		err = re.Inner
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitUsage
}

// readResults reads a run's report.json back into the results model.
func readResults(path, mode string) (reports.Results, error) {
	r, err := reports.ReadGinkgoJSON(path)
	if err != nil {
		return reports.Results{}, fmt.Errorf("reading the %s results: %w", mode, err)
	}
	return reports.FromGinkgo(r, reports.Metadata{ProxyMode: mode}), nil
}
