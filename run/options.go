package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/specs"
)

// Options configure a run. The svccheck command fills them from the flags
// of `svccheck run`, which they mirror; child runs get them back as flags.
type Options struct {
	// Proxy is the Service proxy of a kind cluster the run creates or
	// reuses.
	Proxy proxy.Mode
	// Name is the kind cluster's name.
	Name string
	// Reuse runs against the existing cluster Name instead of creating it.
	Reuse bool
	// KeepCluster keeps the cluster the run creates.
	KeepCluster bool
	// LabelFilter and Focus select the specs (Ginkgo's label filter and
	// focus expressions).
	LabelFilter string
	Focus       []string
	// Output is the results directory.
	Output string
	// Timeout bounds the spec run.
	Timeout time.Duration
	// Parallel is the number of child runs of Parallel.
	Parallel int
	// Verbose streams each spec's steps and output.
	Verbose bool
	// Break, when set, deploys svccheck's proxy broken on purpose
	// (proxyimpl.ParseBreak's comma-separated list).
	Break string
	// NodeImage and Workers shape a cluster the run creates.
	NodeImage string
	Workers   int
	// Scale, when positive, runs the Scale specs alone with that many
	// Services.
	Scale int
	// ParallelChild marks a child run of a Parallel run: the parent
	// loads svccheck, dumps the nodes and writes the merged reports.
	ParallelChild bool
	// Kubeconfig and Context reach any cluster (no kind, no Docker);
	// Image is the svccheck image its pods run.
	Kubeconfig string
	Context    string
	Image      string
	// RunID labels everything the run creates (diag.LabelRunID); a
	// Parallel run passes its own to its children.
	RunID string

	// Progress receives the run's progress lines (default: discarded).
	Progress io.Writer
	// Stdout receives what Compare's child runs print on their standard
	// output: each proxy's summary table (default: Progress).
	Stdout io.Writer
	// Leftovers records what a forced quit would leave behind (default:
	// a tracker of this run's own).
	Leftovers *Leftovers
	// Executable is the svccheck binary child runs start (default: this
	// process's executable).
	Executable string
}

// Status is how a run ended, as svccheck's exit status says it.
type Status int

// The statuses of a run.
const (
	// Passed means every selected spec passed.
	Passed Status = 0
	// Failed means a spec failed or the run was interrupted.
	Failed Status = 1
	// Unusable means the options, the environment or the cluster did not
	// allow the run.
	Unusable Status = 2
)

// The exit statuses of a child run (a svccheck process) as Status says them.
const (
	exitOK     = int(Passed)
	exitFailed = int(Failed)
	exitUsage  = int(Unusable)
)

// Error is an error of a run with the Status it ends the run with.
type Error struct {
	Status Status
	Err    error
}

// Error implements error.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the error Error wraps.
func (e *Error) Unwrap() error { return e.Err }

// StatusOf returns the status a run's error ends it with: Unusable unless
// the error says otherwise, Passed for nil.
func StatusOf(err error) Status {
	if err == nil {
		return Passed
	}
	var re *Error
	if errors.As(err, &re) {
		return re.Status
	}
	return Unusable
}

// usageError is an error of the options or the environment (Unusable).
func usageError(format string, args ...any) error {
	return &Error{Status: Unusable, Err: fmt.Errorf(format, args...)}
}

// Result is what a run did: its results and how long it took. A Result
// comes back beside an error too, when the run wrote reports before it
// failed in itself.
type Result struct {
	// Results are the run's spec results, as summary.md shows them.
	Results reports.Results
	// Written says the run wrote its reports into Output.
	Written bool
	// Output is the results directory.
	Output string
	// Status is how the run ended: StatusOf the error beside the Result.
	Status Status
	// Scale holds the figures of a Scale run, if it measured any.
	Scale *reports.ScaleReport
	// ClusterReady is how long getting the cluster took; Total the whole
	// run up to the reports, cluster teardown aside.
	ClusterReady, Total time.Duration
}

// progress returns where the run's progress goes.
func (o *Options) progress() io.Writer {
	if o.Progress == nil {
		return io.Discard
	}
	return o.Progress
}

// stdout returns where the standard output of Compare's child runs goes.
func (o *Options) stdout() io.Writer {
	if o.Stdout == nil {
		return o.progress()
	}
	return o.Stdout
}

// defaults fills in what o leaves unset that a run can find for itself.
func (o *Options) defaults() error {
	if o.Leftovers == nil {
		o.Leftovers = NewLeftovers()
	}
	if o.RunID == "" {
		return usageError("run options without a run id")
	}
	if o.Output == "" {
		return usageError("run options without an output directory")
	}
	return nil
}

// executable returns the svccheck binary child runs start.
func (o *Options) executable() (string, error) {
	if o.Executable != "" {
		return o.Executable, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", usageError("finding the svccheck binary: %v", err)
	}
	return self, nil
}

// broken lists what Break breaks of svccheck's proxy on purpose.
func (o *Options) broken() []string {
	if o.Break == "" {
		return nil
	}
	return strings.Split(o.Break, ",")
}

// specFilter is the label filter the run gives Ginkgo: LabelFilter, with
// the Scale specs left out unless Scale selects them, alone.
func (o *Options) specFilter() string {
	want := "!" + specs.LabelScale
	if o.Scale > 0 {
		want = specs.LabelScale
	}
	if o.LabelFilter == "" {
		return want
	}
	return "(" + o.LabelFilter + ") && " + want
}
