package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/runner"
	"github.com/svccheck/svccheck/suites/specs"
)

// ListedSpec is one spec ListSpecs selected.
type ListedSpec struct {
	// Text is the spec's full text: container texts and its own.
	Text string `json:"text"`
	// Focus is a --focus expression that selects this spec alone.
	Focus string `json:"focus"`
	// Labels are the spec's labels.
	Labels []string `json:"labels,omitempty"`
}

// ListSpecs walks the specs o's filters select without running them (a
// Ginkgo dry run) and writes them to path as JSON. It is the hidden
// --list-specs of `svccheck run`, which Parallel runs in a child process,
// since Ginkgo walks the specs once per process.
func ListSpecs(o Options, path string) error {
	report, _, err := runner.Run(runner.Options{
		Description: suiteDescription(&o), LabelFilter: o.specFilter(), Focus: o.Focus, DryRun: true,
	})
	if err != nil {
		return fmt.Errorf("listing the specs: %w", err)
	}
	var out []ListedSpec
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt || sr.State != types.SpecStatePassed {
			continue // not selected (a dry run passes every selected spec)
		}
		out = append(out, ListedSpec{
			Text: sr.FullText(),
			// Ginkgo matches --focus against the suite description and
			// the spec's text, joined by a space.
			Focus:  "^" + regexp.QuoteMeta(report.SuiteDescription+" "+sr.FullText()) + "$",
			Labels: sr.Labels(),
		})
	}
	data, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encoding the spec list: %w", err)
	}
	if err := reports.WriteBytesAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("writing the spec list: %w", err)
	}
	return nil
}

// suiteDescription names the suite of a run against o's proxy in reports.
func suiteDescription(o *Options) string {
	if o.Kubeconfig != "" {
		// The proxy is found once the cluster is reached; the spec list
		// is made before.
		return "svccheck kubeconfig"
	}
	return "svccheck " + string(o.Proxy)
}

// shareWeight estimates how long a spec runs, in units of an ordinary
// spec: the Slow ones wait out a timeout on purpose.
func shareWeight(s ListedSpec) int {
	if slices.Contains(s.Labels, specs.LabelSlow) {
		return 3
	}
	return 1
}

// splitSpecs deals the specs out to at most n shares, each next spec (in
// suite order, heaviest first) to the share with the least weight so far,
// so the shares take about as long. No share is empty.
func splitSpecs(list []ListedSpec, n int) [][]ListedSpec {
	n = min(n, len(list))
	if n == 0 {
		return nil
	}
	order := slices.Clone(list)
	slices.SortStableFunc(order, func(a, b ListedSpec) int { return shareWeight(b) - shareWeight(a) })
	shares := make([][]ListedSpec, n)
	weights := make([]int, n)
	for _, s := range order {
		i := slices.Index(weights, slices.Min(weights))
		shares[i] = append(shares[i], s)
		weights[i] += shareWeight(s)
	}
	return shares
}

// shareArgs is the command line of the child run of one share, on the
// cluster the parent run obtained, writing into dir.
func (o *Options) shareArgs(name string, share []ListedSpec, dir string) []string {
	args := append(o.targetArgs(name), "--run-id", o.RunID, "--output", dir, "--timeout", o.Timeout.String(), "--parallel-child")
	for _, s := range share {
		args = append(args, "--focus", s.Focus)
	}
	if o.Verbose {
		args = append(args, "-v")
	}
	return args
}

// moveDumps moves the failure dumps (nodes/<node>/failures/<spec>/) and the
// namespace dumps (cluster/<namespace>/) of a child run's output dir into
// the run's output out. Spec report entries name them relative to the
// output directory, so they stay valid.
func moveDumps(dir, out string) error {
	var errs []error
	nodes, _ := filepath.Glob(filepath.Join(dir, reports.DirNodes, "*", reports.DirFailures, "*"))
	namespaces, _ := filepath.Glob(filepath.Join(dir, reports.DirCluster, "*"))
	for _, src := range append(nodes, namespaces...) {
		if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
			continue
		}
		rel, err := filepath.Rel(dir, src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		dst := filepath.Join(out, rel)
		if _, err := os.Stat(dst); err == nil {
			errs = append(errs, fmt.Errorf("moving %s: %s exists", src, dst))
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Rename(src, dst); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("moving the dumps of %s: %w", dir, err)
	}
	// What the moves emptied goes too: nodes/<node>/failures/, nodes/<node>/,
	// nodes/ and cluster/ (os.Remove leaves a directory that is not empty).
	for _, pattern := range []string{filepath.Join(dir, reports.DirNodes, "*", reports.DirFailures), filepath.Join(dir, reports.DirNodes, "*")} {
		empty, _ := filepath.Glob(pattern)
		for _, d := range empty {
			_ = os.Remove(d)
		}
	}
	_ = os.Remove(filepath.Join(dir, reports.DirNodes))
	_ = os.Remove(filepath.Join(dir, reports.DirCluster))
	return nil
}

// prefixWriter writes each complete line written to it to w with a prefix,
// so the progress lines of several child runs stay apart. It is safe for
// concurrent use, and writers sharing its mutex never mix within a line.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    bytes.Buffer
}

// Write implements io.Writer.
func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		line, err := p.buf.ReadBytes('\n')
		if err != nil {
			// No newline yet: keep the start of the line for later.
			rest := slices.Clone(line)
			p.buf.Reset()
			p.buf.Write(rest)
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s", p.prefix, line); err != nil {
			return len(b), err
		}
	}
}

// Flush writes what is left of an unfinished last line.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.buf.Len() == 0 {
		return
	}
	fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf.Bytes())
	p.buf.Reset()
}

// ReadSpecList reads what ListSpecs wrote.
func ReadSpecList(path string) ([]ListedSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the spec list: %w", err)
	}
	var list []ListedSpec
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("parsing the spec list %s: %w", path, err)
	}
	return list, nil
}

// shareDir is the output directory of share i (from 1).
func shareDir(out string, i int) string {
	return filepath.Join(out, reports.DirParallel, strconv.Itoa(i))
}

// runShares runs the specs the filters select in o.Parallel child runs of
// this binary on the cluster named name, each with its share of the specs,
// and returns their merged report. passed is false when a spec failed or a
// child was interrupted. When a child failed in itself (crashed, exited 2,
// left no report) or a spec ran in no child, the error is a *harnessError
// beside a report of what the others ran, worth writing.
func runShares(ctx context.Context, o *Options, name string, stderr io.Writer) (types.Report, bool, error) {
	self, err := o.executable()
	if err != nil {
		return types.Report{}, false, err
	}
	list, err := childSpecList(ctx, o, self)
	if err != nil {
		return types.Report{}, false, err
	}
	if len(list) == 0 {
		return types.Report{}, false, o.noSpecsError()
	}
	shares := splitSpecs(list, o.Parallel)
	// Every directory and log first: a share that cannot start must not
	// leave the others running.
	logs := make([]*os.File, 0, len(shares))
	defer func() {
		for _, l := range logs {
			_ = l.Close()
		}
	}()
	for i := range shares {
		dir := shareDir(o.Output, i+1)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return types.Report{}, false, usageError("creating %s: %v", dir, err)
		}
		log, err := os.Create(filepath.Join(dir, reports.FileRunLog))
		if err != nil {
			return types.Report{}, false, usageError("creating the log of parallel run %d: %v", i+1, err)
		}
		logs = append(logs, log)
	}
	fmt.Fprintf(stderr, "running %d specs in %d parallel runs on cluster %s (their logs: %s)\n",
		len(list), len(shares), name, filepath.Join(o.Output, reports.DirParallel, "<i>", reports.FileRunLog))
	codes := make([]int, len(shares))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, share := range shares {
		progress := &prefixWriter{mu: &mu, w: stderr, prefix: fmt.Sprintf("[%d/%d] ", i+1, len(shares))}
		cmd := childCommand(ctx, self, o.shareArgs(name, share, shareDir(o.Output, i+1)), logs[i], io.MultiWriter(logs[i], progress), childWaitDelay)
		wg.Go(func() {
			defer progress.Flush()
			if err := o.Leftovers.RunChild(cmd); err != nil {
				codes[i] = childExitCode(err)
			}
		})
	}
	wg.Wait()
	merged, passed, problems, err := mergeShares(ctx, o.Output, codes, list)
	if err != nil {
		return types.Report{}, false, err
	}
	if len(problems) > 0 {
		if ctx.Err() != nil {
			// Interrupted: children cut short are expected to miss things.
			for _, p := range problems {
				fmt.Fprintf(stderr, "warning: %v\n", p)
			}
			return merged, false, nil
		}
		return merged, false, &harnessError{err: usageError("%v", errors.Join(problems...))}
	}
	return merged, passed, nil
}

// harnessError is a --parallel run's own failure beside a merged report of
// what its children ran: the run writes its reports, then fails with err.
type harnessError struct{ err error }

func (e *harnessError) Error() string { return e.err.Error() }
func (e *harnessError) Unwrap() error { return e.err }

// childSpecList lists the selected specs in a child run of self (Ginkgo
// walks the specs once per process, and this process's walk is theirs).
func childSpecList(ctx context.Context, o *Options, self string) ([]ListedSpec, error) {
	dir, err := os.MkdirTemp("", "svccheck-specs-")
	if err != nil {
		return nil, usageError("creating a temporary directory: %v", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "specs.json")
	args := []string{"run", "--list-specs", path, "--proxy", string(o.Proxy)}
	if o.Kubeconfig != "" {
		args = []string{"run", "--list-specs", path, "--kubeconfig", o.Kubeconfig}
	}
	args = append(args, o.filterArgs()...)
	out := &syncBuffer{}
	if err := o.Leftovers.RunChild(childCommand(ctx, self, args, io.Discard, out, childWaitDelay)); err != nil {
		return nil, usageError("listing the specs (svccheck %v): %v: %s", args, err, strings.TrimSpace(out.String()))
	}
	return ReadSpecList(path)
}

// mergeShares reads the reports of the child runs (exit codes codes, in
// their directories under out), moves their dumps into out and merges the
// reports. problems are what went wrong besides failed specs: a child that
// exited otherwise than 0 or 1, left no report or whose dumps could not be
// moved, and a spec of list that ran in no child (expected when the run
// was interrupted, so not checked then). err is set only when there is no
// report to merge at all.
func mergeShares(ctx context.Context, out string, codes []int, list []ListedSpec) (merged types.Report, passed bool, problems []error, err error) {
	var parts []types.Report
	passed = true
	for i, code := range codes {
		dir := shareDir(out, i+1)
		log := filepath.Join(dir, reports.FileRunLog)
		passed = passed && code == exitOK
		if code != exitOK && code != exitFailed && ctx.Err() == nil {
			problems = append(problems, fmt.Errorf("parallel run %d exited %d; see %s", i+1, code, log))
		}
		r, err := reports.ReadGinkgoJSON(filepath.Join(dir, reports.FileJSON))
		if err != nil {
			problems = append(problems, fmt.Errorf("parallel run %d (exit %d) left no report: %w; see %s", i+1, code, err, log))
			continue
		}
		parts = append(parts, r)
		if err := moveDumps(dir, out); err != nil {
			problems = append(problems, err)
		}
	}
	if len(parts) == 0 {
		return types.Report{}, false, nil, usageError("no parallel run left a report: %v", errors.Join(problems...))
	}
	merged, err = reports.MergeGinkgo(parts)
	if err != nil {
		return types.Report{}, false, nil, err
	}
	if ctx.Err() == nil {
		ran := map[string]bool{}
		for _, sr := range merged.SpecReports {
			if sr.LeafNodeType == types.NodeTypeIt && reports.Ran(sr) {
				ran[sr.FullText()] = true
			}
		}
		for _, s := range list {
			if !ran[s.Text] {
				problems = append(problems, fmt.Errorf("spec %q ran in no parallel run", s.Text))
			}
		}
	}
	return merged, passed && merged.SuiteSucceeded && len(problems) == 0, problems, nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writers: a child's
// output copier and the Cancel of its command.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
