package run

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

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
)

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

// Comparison is what Compare did: the comparison of the proxies' runs.
type Comparison struct {
	// Comparison is what comparison.md holds; nil when an interrupted
	// Compare wrote none.
	Comparison *reports.Comparison
	// Scale are the scale figures of the runs that measured any, in the
	// order of the proxies.
	Scale []reports.ScaleReport
	// Output is the results directory; each proxy's run has its own
	// directory under it.
	Output string
	// Status is how the comparison ended: StatusOf the error beside it.
	Status Status
}

// CompareModes are the proxies Compare puts side by side: svccheck's, and
// kube-proxy in iptables and in nftables mode.
var CompareModes = []proxy.Mode{proxy.Svccheck, proxy.KubeProxy, proxy.KubeProxyNFTables}

// Compare runs the suites once per proxy of CompareModes, each in a child
// run of o.Executable (Ginkgo runs specs once per process) on its own
// cluster, then writes comparison.md into o.Output. A spec that failed is
// an error of status Failed, beside the comparison.
func Compare(ctx context.Context, o Options) (Comparison, error) {
	if err := o.defaults(); err != nil {
		return Comparison{Status: Unusable}, err
	}
	self, err := o.executable()
	if err != nil {
		return Comparison{Status: Unusable}, err
	}
	release, err := ClaimOutput(o.Output)
	if err != nil {
		return Comparison{Status: Unusable}, err
	}
	defer release()
	stderr := o.progress()
	return compareRuns(ctx, &o, func(ctx context.Context, args []string) *osexec.Cmd {
		return childCommand(ctx, self, args, o.stdout(), stderr, compareWaitDelay)
	})
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

// compareRuns is Compare with the child runs started by start.
func compareRuns(ctx context.Context, o *Options, start childStarter) (res Comparison, err error) {
	defer func() { res.Output, res.Status = o.Output, StatusOf(err) }()
	stderr, left := o.progress(), o.Leftovers
	var runs []reports.Results
	failed := false
	for _, mode := range CompareModes {
		if ctx.Err() != nil {
			break // interrupted: start no further cluster
		}
		dir := filepath.Join(o.Output, mode.Dir())
		args := o.childArgs(mode, dir)
		fmt.Fprintf(stderr, "== %s: svccheck %s\n", mode, strings.Join(args, " "))
		code := exitOK
		if !o.KeepCluster {
			left.AddCluster(o.childName(mode))
		}
		err := left.RunChild(start(ctx, args))
		if err == nil || childExitCode(err) == exitFailed {
			left.RemoveCluster(o.childName(mode)) // the child deleted it
		}
		if err != nil {
			code = childExitCode(err)
		}
		res, rerr := readResults(filepath.Join(dir, reports.FileJSON), mode)
		if ctx.Err() != nil {
			if code < 0 {
				fmt.Fprintf(stderr, "warning: the %s run did not finish within %s of its interrupt (%v); its cluster may be left: svccheck cluster delete --name %s\n",
					mode, childWaitDelay, err, o.childName(mode))
			}
			if rerr == nil {
				runs = append(runs, res)
			}
			return compareInterrupted(o, runs, code)
		}
		if code != exitOK && code != exitFailed {
			return Comparison{}, &Error{Status: Unusable, Err: fmt.Errorf("the %s run failed (exit %d): %w", mode, code, err)}
		}
		if rerr != nil {
			return Comparison{}, usageError("%v", rerr)
		}
		failed = failed || code == exitFailed
		runs = append(runs, res)
	}
	if ctx.Err() != nil {
		return compareInterrupted(o, runs, exitOK)
	}
	res, err = writeComparison(o, runs)
	if err != nil {
		return res, err
	}
	if failed {
		return res, &Error{Status: Failed, Err: fmt.Errorf("specs failed (%d disagreements between proxies); see %s", res.Comparison.Disagreements(), o.Output)}
	}
	return res, nil
}

// compareInterrupted ends a Compare cut short by Ctrl-C: it writes the
// comparison when every proxy's run got as far as writing its results. Its
// error has status Unusable when the interrupted child exited 2
// (interrupted before its specs ran, say while creating its cluster), else
// Failed.
func compareInterrupted(o *Options, runs []reports.Results, code int) (Comparison, error) {
	var res Comparison
	if len(runs) == len(CompareModes) {
		var err error
		if res, err = writeComparison(o, runs); err != nil {
			return res, err
		}
	} else {
		fmt.Fprintf(o.progress(), "interrupted before every proxy's run finished: no %s\n", reports.FileComparison)
	}
	if code != exitUsage {
		code = exitFailed
	}
	return res, &Error{Status: Status(code), Err: fmt.Errorf("interrupted; the runs' reports are in %s", o.Output)}
}

// writeComparison writes comparison.md of runs, with the scale figures,
// and its report.html into the output directory.
func writeComparison(o *Options, runs []reports.Results) (Comparison, error) {
	c := reports.Compare(runs...)
	res := Comparison{Comparison: &c}
	if err := reports.WriteComparisonFile(o.Output, c); err != nil {
		return res, fmt.Errorf("writing the comparison: %w", err)
	}
	var dirs []string
	for _, mode := range CompareModes {
		dirs = append(dirs, mode.Dir())
	}
	scale, err := compareScale(o.Output, dirs)
	if err != nil {
		return res, err
	}
	res.Scale = scale
	writeComparisonHTML(o.Output, c, dirs, o.progress())
	return res, nil
}

// childArgs is the command line of the child run against mode.
func (o *Options) childArgs(mode proxy.Mode, dir string) []string {
	args := []string{"run", "--proxy", string(mode), "--name", o.childName(mode), "--output", dir,
		"--timeout", o.Timeout.String(), "--workers", strconv.Itoa(o.Workers)}
	args = append(args, o.filterArgs()...)
	if o.NodeImage != "" {
		args = append(args, "--node-image", o.NodeImage)
	}
	if o.KeepCluster {
		args = append(args, "--keep-cluster")
	}
	if o.Verbose {
		args = append(args, "-v")
	}
	if o.Parallel > 1 {
		args = append(args, "--parallel", strconv.Itoa(o.Parallel))
	}
	return args
}

// filterArgs are the --label-filter and --focus flags of o, for a child run
// that selects the same specs.
func (o *Options) filterArgs() []string {
	var args []string
	if o.LabelFilter != "" {
		args = append(args, "--label-filter", o.LabelFilter)
	}
	for _, f := range o.Focus {
		args = append(args, "--focus", f)
	}
	if o.Scale > 0 {
		args = append(args, "--scale", strconv.Itoa(o.Scale))
	}
	return args
}

// noSpecsError is the usage error of filters that select no spec.
func (o *Options) noSpecsError() error {
	return usageError("--label-filter %q and --focus %q select no specs", o.LabelFilter, o.Focus)
}

// childName is the name of the cluster of the child run against mode.
func (o *Options) childName(mode proxy.Mode) string {
	return o.Name + "-" + mode.Dir()
}

// childExitCode returns the exit status of a child run from the error of
// its Run: os/exec's ExitError, or kind's exec RunError, which does not
// unwrap to the process's error. Any other error (the child did not start)
// is exitUsage.
func childExitCode(err error) int {
	var re *exec.RunError
	if errors.As(err, &re) && re.Inner != nil {
		err = re.Inner
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return exitUsage
}

// readResults reads a run's report.json back into the results model.
func readResults(path string, mode proxy.Mode) (reports.Results, error) {
	r, err := reports.ReadGinkgoJSON(path)
	if err != nil {
		return reports.Results{}, fmt.Errorf("reading the %s results: %w", mode, err)
	}
	p, ok := reports.ProxyFromLabels(r.SuiteLabels)
	if !ok {
		// Written before report.json recorded the proxy.
		p = proxy.Proxy{Mode: mode}
	}
	return reports.FromGinkgo(r, reports.Metadata{Proxy: p}), nil
}
