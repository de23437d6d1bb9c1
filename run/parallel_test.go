package run

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/specs"
)

func TestSplitSpecs(t *testing.T) {
	spec := func(text string, labels ...string) ListedSpec { return ListedSpec{Text: text, Labels: labels} }
	list := []ListedSpec{spec("a"), spec("b"), spec("slow", specs.LabelSlow), spec("c"), spec("d")}
	texts := func(shares [][]ListedSpec) [][]string {
		var out [][]string
		for _, sh := range shares {
			var ts []string
			for _, s := range sh {
				ts = append(ts, s.Text)
			}
			out = append(out, ts)
		}
		return out
	}
	for _, tc := range []struct {
		n    int
		want [][]string
	}{
		{1, [][]string{{"slow", "a", "b", "c", "d"}}},
		// The slow spec weighs three: the other share takes three specs.
		{2, [][]string{{"slow", "d"}, {"a", "b", "c"}}},
		{3, [][]string{{"slow"}, {"a", "c"}, {"b", "d"}}},
		// Never an empty share.
		{9, [][]string{{"slow"}, {"a"}, {"b"}, {"c"}, {"d"}}},
	} {
		if diff := cmp.Diff(tc.want, texts(splitSpecs(list, tc.n))); diff != "" {
			t.Errorf("splitSpecs(%d) (-want +got):\n%s", tc.n, diff)
		}
	}
	if got := splitSpecs(nil, 3); got != nil {
		t.Errorf("splitSpecs(nil) = %v, want no shares", got)
	}
}

func TestShareArgs(t *testing.T) {
	o := &Options{Proxy: "kube-proxy:iptables", Timeout: 10 * time.Minute, Verbose: true, LabelFilter: "ClusterIP", Focus: []string{"x"}, RunID: "r1"}
	got := o.shareArgs("svccheck-run", []ListedSpec{{Focus: "^a$"}, {Focus: "^b$"}}, "out/parallel/1")
	want := []string{"run", "--reuse", "--name", "svccheck-run", "--proxy", "kube-proxy:iptables", "--run-id", "r1", "--output", "out/parallel/1",
		"--timeout", "10m0s", "--parallel-child", "--focus", "^a$", "--focus", "^b$", "-v"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shareArgs (-want +got):\n%s", diff)
	}
	// Against any cluster the children reach it as the parent does, and
	// label what they create with the parent's run id.
	o = &Options{Kubeconfig: "kc.yaml", Context: "ctx", Image: "reg.example/svccheck:v1", Timeout: time.Minute, RunID: "r2"}
	got = o.shareArgs("ctx", []ListedSpec{{Focus: "^a$"}}, "out/parallel/2")
	want = []string{"run", "--kubeconfig", "kc.yaml", "--context", "ctx", "--image", "reg.example/svccheck:v1", "--run-id", "r2",
		"--output", "out/parallel/2", "--timeout", "1m0s", "--parallel-child", "--focus", "^a$"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shareArgs with --kubeconfig (-want +got):\n%s", diff)
	}
}

// writeShare writes what a child run of a share leaves: its report and a
// failure dump and a namespace dump.
func writeShare(t *testing.T, dir string, r types.Report, dumps ...string) {
	t.Helper()
	var buf bytes.Buffer
	if err := reports.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, reports.FileJSON), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range dumps {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "iptables-nat.txt"), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// shareReport is the report of a share that ran spec ran (state st) of
// the specs a and b.
func shareReport(ran string, st types.SpecState) types.Report {
	r := types.Report{SuiteDescription: "svccheck svccheck", SuiteSucceeded: st == types.SpecStatePassed,
		PreRunStats: types.PreRunStats{TotalSpecs: 2, SpecsThatWillRun: 1}}
	for _, name := range []string{"a", "b"} {
		sr := types.SpecReport{ContainerHierarchyTexts: []string{"ClusterIP"}, LeafNodeText: name, LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped}
		if name == ran {
			sr.State = st
		}
		r.SpecReports = append(r.SpecReports, sr)
	}
	return r
}

func TestMergeShares(t *testing.T) {
	list := []ListedSpec{{Text: "ClusterIP a"}, {Text: "ClusterIP b"}}
	out := t.TempDir()
	failDump := filepath.Join(reports.DirNodes, "kind-worker", reports.DirFailures, "clusterip-b")
	writeShare(t, shareDir(out, 1), shareReport("a", types.SpecStatePassed), filepath.Join(reports.DirCluster, "svccheck-a"))
	writeShare(t, shareDir(out, 2), shareReport("b", types.SpecStateFailed), failDump, filepath.Join(reports.DirCluster, "svccheck-b"))
	merged, passed, problems, err := mergeShares(context.Background(), out, []int{exitOK, exitFailed}, list)
	if err != nil || len(problems) > 0 {
		t.Fatalf("mergeShares: %v, problems %v", err, problems)
	}
	if passed {
		t.Errorf("merged run passed, want failed")
	}
	var got []string
	for _, sr := range merged.SpecReports {
		got = append(got, sr.LeafNodeText+"="+sr.State.String())
	}
	if diff := cmp.Diff([]string{"a=passed", "b=failed"}, got); diff != "" {
		t.Errorf("merged specs (-want +got):\n%s", diff)
	}
	for _, d := range []string{failDump, filepath.Join(reports.DirCluster, "svccheck-a"), filepath.Join(reports.DirCluster, "svccheck-b")} {
		if _, err := os.Stat(filepath.Join(out, d, "iptables-nat.txt")); err != nil {
			t.Errorf("dump %s not moved into the run's output: %v", d, err)
		}
	}
	for i := 1; i <= 2; i++ {
		left, _ := filepath.Glob(filepath.Join(shareDir(out, i), "*"))
		if diff := cmp.Diff([]string{filepath.Join(shareDir(out, i), reports.FileJSON)}, left); diff != "" {
			t.Errorf("left in share %d's directory (-want +got):\n%s", i, diff)
		}
	}

	// A share that failed in itself: the others' report is kept, and the
	// problems name the share and the spec no share ran.
	out = t.TempDir()
	writeShare(t, shareDir(out, 1), shareReport("a", types.SpecStatePassed))
	merged, passed, problems, err = mergeShares(context.Background(), out, []int{exitOK, exitUsage}, list)
	if err != nil {
		t.Fatal(err)
	}
	joined := fmt.Sprint(problems)
	for _, want := range []string{"parallel run 2 exited 2", "parallel run 2 (exit 2) left no report", `spec "ClusterIP b" ran in no parallel run`} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems %q lack %q", joined, want)
		}
	}
	if passed || len(merged.SpecReports) != 2 {
		t.Errorf("with a share lost: passed %v, %d specs; want not passed and the other share's report", passed, len(merged.SpecReports))
	}
	// After Ctrl-C, a share cut short is no problem beside its missing
	// report, and specs that did not run are not either.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	merged, passed, problems, err = mergeShares(ctx, out, []int{exitOK, exitUsage}, list)
	if err != nil || passed || len(merged.SpecReports) != 2 || len(problems) != 1 || !strings.Contains(problems[0].Error(), "left no report") {
		t.Errorf("interrupted mergeShares: %d specs, passed %v, problems %v, err %v; want both specs, not passed, only the missing report", len(merged.SpecReports), passed, problems, err)
	}
	// No report at all is an error.
	if _, _, _, err := mergeShares(context.Background(), t.TempDir(), []int{exitUsage}, list); err == nil || StatusOf(err) != Unusable {
		t.Errorf("mergeShares without any report: %v, want a usage error", err)
	}
}

func TestPrefixWriter(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	a := &prefixWriter{mu: &mu, w: &out, prefix: "[1/2] "}
	b := &prefixWriter{mu: &mu, w: &out, prefix: "[2/2] "}
	_, _ = a.Write([]byte("one "))
	_, _ = b.Write([]byte("two\nthree"))
	_, _ = a.Write([]byte("line\n"))
	b.Flush()
	want := "[2/2] two\n[1/2] one line\n[2/2] three\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("prefixed output (-want +got):\n%s", diff)
	}
}
