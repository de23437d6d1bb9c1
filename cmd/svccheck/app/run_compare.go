package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/cluster"
)

// compareModes are the proxies `svccheck run --compare` puts side by side.
var compareModes = []cluster.ProxyMode{cluster.ProxySvccheck, cluster.ProxyKubeProxy}

// runCompare runs the suites once per proxy, each in a child process of this
// binary (Ginkgo runs specs once per process) on its own cluster, then prints
// the comparison table.
func runCompare(ctx context.Context, o *runOptions, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return usageError("finding the svccheck binary: %v", err)
	}
	var runs []reports.Results
	failed := false
	for _, mode := range compareModes {
		dir := filepath.Join(o.output, modeDir(mode))
		args := o.childArgs(mode, dir)
		fmt.Fprintf(stderr, "== %s: svccheck %s\n", mode, strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.SetStdout(stdout)
		cmd.SetStderr(stderr)
		if err := cmd.Run(); err != nil {
			code := childExitCode(err)
			if code != ExitFailed {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("the %s run failed (exit %d): %w", mode, code, err)}
			}
			failed = true
		}
		res, err := readResults(filepath.Join(dir, reports.FileJSON), string(mode))
		if err != nil {
			return usageError("%v", err)
		}
		runs = append(runs, res)
	}
	cmp := reports.Compare(runs...)
	fmt.Fprintln(stdout)
	if err := reports.WriteComparison(stdout, cmp); err != nil {
		return fmt.Errorf("writing the comparison: %w", err)
	}
	if failed {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("specs failed (%d disagreements between proxies); see %s", cmp.Disagreements(), o.output)}
	}
	return nil
}

// childArgs is the command line of the child run against mode.
func (o *runOptions) childArgs(mode cluster.ProxyMode, dir string) []string {
	args := []string{"run", "--proxy", string(mode), "--name", o.name + "-" + modeDir(mode), "--output", dir,
		"--timeout", o.timeout.String(), "--workers", strconv.Itoa(o.workers)}
	if o.labelFilter != "" {
		args = append(args, "--label-filter", o.labelFilter)
	}
	for _, f := range o.focus {
		args = append(args, "--focus", f)
	}
	if o.nodeImage != "" {
		args = append(args, "--node-image", o.nodeImage)
	}
	if o.keepCluster {
		args = append(args, "--keep-cluster")
	}
	if o.verbose {
		args = append(args, "-v")
	}
	return args
}

// modeDir names a proxy mode's output directory and cluster suffix.
func modeDir(m cluster.ProxyMode) string {
	return strings.ReplaceAll(string(m), ":", "-")
}

// childExitCode returns the exit status of a child run from the error of
// kind's exec, whose RunError does not unwrap to the process's error.
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
	data, err := os.ReadFile(path)
	if err != nil {
		return reports.Results{}, fmt.Errorf("reading the %s results: %w", mode, err)
	}
	var rs []types.Report
	if err := json.Unmarshal(data, &rs); err != nil {
		return reports.Results{}, fmt.Errorf("parsing %s: %w", path, err)
	}
	if len(rs) != 1 {
		return reports.Results{}, fmt.Errorf("parsing %s: want one suite report, found %d", path, len(rs))
	}
	return reports.FromGinkgo(rs[0], reports.Metadata{ProxyMode: mode}), nil
}
