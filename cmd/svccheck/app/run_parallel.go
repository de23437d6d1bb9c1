package app

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
	"sync"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/runner"
	"github.com/svccheck/svccheck/suites/specs"
)

// listedSpec is one spec a --list-specs run selected.
type listedSpec struct {
	// Text is the spec's full text: container texts and its own.
	Text string `json:"text"`
	// Focus is a --focus expression that selects this spec alone.
	Focus string `json:"focus"`
	// Labels are the spec's labels.
	Labels []string `json:"labels,omitempty"`
}

// listSpecs walks the specs the filters select without running them (a
// Ginkgo dry run) and writes them to path as JSON. It is the hidden
// --list-specs of `svccheck run`, run by a --parallel run in a child
// process, since Ginkgo walks the specs once per process.
func listSpecs(o *runOptions, path string) error {
	report, _, err := runner.Run(runner.Options{
		Description: suiteDescription(o), LabelFilter: o.labelFilter, Focus: o.focus, DryRun: true,
	})
	if err != nil {
		return fmt.Errorf("listing the specs: %w", err)
	}
	var out []listedSpec
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt || sr.State != types.SpecStatePassed {
			continue // not selected (a dry run passes every selected spec)
		}
		out = append(out, listedSpec{
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
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing the spec list: %w", err)
	}
	return nil
}

// suiteDescription names the suite of a run against o's proxy in reports.
func suiteDescription(o *runOptions) string { return "svccheck " + string(o.proxyMode) }

// shareWeight estimates how long a spec runs, in units of an ordinary
// spec: the Slow ones wait out a timeout on purpose.
func shareWeight(s listedSpec) int {
	if slices.Contains(s.Labels, specs.LabelSlow) {
		return 3
	}
	return 1
}

// splitSpecs deals the specs out to at most n shares, each next spec (in
// suite order, heaviest first) to the share with the least weight so far,
// so the shares take about as long. No share is empty.
func splitSpecs(list []listedSpec, n int) [][]listedSpec {
	n = min(n, len(list))
	if n == 0 {
		return nil
	}
	order := slices.Clone(list)
	slices.SortStableFunc(order, func(a, b listedSpec) int { return shareWeight(b) - shareWeight(a) })
	shares := make([][]listedSpec, n)
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
func (o *runOptions) shareArgs(name string, share []listedSpec, dir string) []string {
	args := []string{"run", "--reuse", "--name", name, "--proxy", string(o.proxyMode), "--output", dir,
		"--timeout", o.timeout.String(), "--parallel-child"}
	for _, s := range share {
		args = append(args, "--focus", s.Focus)
	}
	if o.verbose {
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
// concurrent use by the writers sharing its mutex.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    bytes.Buffer
}

// Write implements io.Writer.
func (p *prefixWriter) Write(b []byte) (int, error) {
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
		p.mu.Lock()
		_, werr := fmt.Fprintf(p.w, "%s%s", p.prefix, line)
		p.mu.Unlock()
		if werr != nil {
			return len(b), werr
		}
	}
}

// Flush writes what is left of an unfinished last line.
func (p *prefixWriter) Flush() {
	if p.buf.Len() == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf.Bytes())
	p.buf.Reset()
}

// readSpecList reads what listSpecs wrote.
func readSpecList(path string) ([]listedSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the spec list: %w", err)
	}
	var list []listedSpec
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("parsing the spec list %s: %w", path, err)
	}
	return list, nil
}

// shareDir is the output directory of share i (from 1).
func shareDir(out string, i int) string {
	return filepath.Join(out, reports.DirParallel, strconv.Itoa(i))
}

// runShares runs the specs the filters select in o.parallel child runs of
// this binary on the cluster named name, each with its share of the specs,
// and returns their merged report. passed is false when a spec failed or a
// child was interrupted.
func runShares(ctx context.Context, o *runOptions, name string, stderr io.Writer) (types.Report, bool, error) {
	self, err := os.Executable()
	if err != nil {
		return types.Report{}, false, usageError("finding the svccheck binary: %v", err)
	}
	list, err := childSpecList(ctx, o, self)
	if err != nil {
		return types.Report{}, false, err
	}
	if len(list) == 0 {
		return types.Report{}, false, usageError("--label-filter %q and --focus %q select no specs", o.labelFilter, o.focus)
	}
	shares := splitSpecs(list, o.parallel)
	fmt.Fprintf(stderr, "running %d specs in %d parallel runs on cluster %s (their logs: %s)\n",
		len(list), len(shares), name, filepath.Join(o.output, reports.DirParallel, "<i>", reports.FileRunLog))
	codes := make([]int, len(shares))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, share := range shares {
		dir := shareDir(o.output, i+1)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return types.Report{}, false, usageError("creating %s: %v", dir, err)
		}
		log, err := os.Create(filepath.Join(dir, reports.FileRunLog))
		if err != nil {
			return types.Report{}, false, usageError("creating the log of run %d: %v", i+1, err)
		}
		progress := &prefixWriter{mu: &mu, w: stderr, prefix: fmt.Sprintf("[%d/%d] ", i+1, len(shares))}
		cmd := childCommand(ctx, self, o.shareArgs(name, share, dir), log, io.MultiWriter(log, progress))
		wg.Go(func() {
			defer log.Close()
			defer progress.Flush()
			if err := cmd.Run(); err != nil {
				codes[i] = childExitCode(err)
			}
		})
	}
	wg.Wait()
	return mergeShares(ctx, o.output, codes)
}

// childSpecList lists the selected specs in a child run of self (Ginkgo
// walks the specs once per process, and this process's walk is theirs).
func childSpecList(ctx context.Context, o *runOptions, self string) ([]listedSpec, error) {
	dir, err := os.MkdirTemp("", "svccheck-specs-")
	if err != nil {
		return nil, usageError("creating a temporary directory: %v", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "specs.json")
	args := []string{"run", "--list-specs", path, "--proxy", string(o.proxyMode)}
	if o.labelFilter != "" {
		args = append(args, "--label-filter", o.labelFilter)
	}
	for _, f := range o.focus {
		args = append(args, "--focus", f)
	}
	var out bytes.Buffer
	if err := childCommand(ctx, self, args, io.Discard, &out).Run(); err != nil {
		return nil, usageError("listing the specs (svccheck %v): %v: %s", args, err, bytes.TrimSpace(out.Bytes()))
	}
	return readSpecList(path)
}

// mergeShares reads the reports of the child runs (exit codes codes, in
// their directories under out), moves their dumps into out and merges the
// reports. A child that failed for another reason than failed specs (exit
// 2) makes it an error, unless the run was interrupted: then what the
// children wrote is merged.
func mergeShares(ctx context.Context, out string, codes []int) (types.Report, bool, error) {
	var parts []types.Report
	passed := true
	var errs []error
	for i, code := range codes {
		dir := shareDir(out, i+1)
		log := filepath.Join(dir, reports.FileRunLog)
		if code != ExitOK && code != ExitFailed && ctx.Err() == nil {
			errs = append(errs, fmt.Errorf("parallel run %d exited %d; see %s", i+1, code, log))
			continue
		}
		passed = passed && code == ExitOK
		r, err := reports.ReadGinkgoJSON(filepath.Join(dir, reports.FileJSON))
		if err != nil {
			errs = append(errs, fmt.Errorf("parallel run %d (exit %d) left no report: %w; see %s", i+1, code, err, log))
			continue
		}
		parts = append(parts, r)
		if err := moveDumps(dir, out); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 && (ctx.Err() == nil || len(parts) == 0) {
		return types.Report{}, false, usageError("%v", errors.Join(errs...))
	}
	merged, err := reports.MergeGinkgo(parts)
	if err != nil {
		return types.Report{}, false, err
	}
	return merged, passed && merged.SuiteSucceeded && len(parts) == len(codes), nil
}
