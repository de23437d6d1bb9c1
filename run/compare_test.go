package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
)

// fakeChildEnv makes TestCompareFakeChild act as a child `svccheck run`;
// its value picks the behaviour (see fakeChild).
const fakeChildEnv = "SVCCHECK_TEST_FAKE_CHILD"

// Files the fake child writes into its --output directory.
const (
	fakeStarted  = "started"   // once it waits for SIGINT
	fakeTornDown = "torn-down" // after its teardown, holding its process groups
)

// TestCompareFakeChild is not a test: it is the child process of the
// --compare tests, the test binary run through childCommand.
func TestCompareFakeChild(t *testing.T) {
	behaviour := os.Getenv(fakeChildEnv)
	if behaviour == "" {
		t.Skip("the child process of the --compare tests; runs only as one")
	}
	os.Exit(fakeChild(behaviour, flagArgs(os.Args)))
}

// flagArgs returns the arguments after "--": the child's command line.
func flagArgs(args []string) map[string]string {
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	flags := map[string]string{}
	for i := 0; i+1 < len(args); i++ {
		if strings.HasPrefix(args[i], "--") {
			flags[args[i]] = args[i+1]
		}
	}
	return flags
}

// fakeChild is a child run: "results" writes a report (kube-proxy failing
// the spec svccheck passes) and exits like svccheck run; "trap" waits for
// SIGINT, tears down for a while and writes fakeTornDown and an interrupted
// report; "usage" exits 2 at once.
func fakeChild(behaviour string, flags map[string]string) int {
	out, mode := flags["--output"], flags["--proxy"]
	switch behaviour {
	case "results":
		state := types.SpecStatePassed
		if mode != "svccheck" {
			state = types.SpecStateFailed
		}
		if err := writeFakeReport(out, state, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return exitUsage
		}
		if state == types.SpecStateFailed {
			return exitFailed
		}
		return exitOK
	case "trap":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		if err := os.MkdirAll(out, 0o755); err != nil {
			return exitUsage
		}
		if err := os.WriteFile(filepath.Join(out, fakeStarted), nil, 0o644); err != nil {
			return exitUsage
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Minute):
			return 3 // never interrupted
		}
		time.Sleep(300 * time.Millisecond) // deleting the cluster
		groups := fmt.Sprintf("%d %d", syscall.Getpgrp(), mustPgid(os.Getppid()))
		if err := os.WriteFile(filepath.Join(out, fakeTornDown), []byte(groups), 0o644); err != nil {
			return exitUsage
		}
		if err := writeFakeReport(out, types.SpecStateSkipped, []string{"Interrupted by User"}); err != nil {
			return exitUsage
		}
		return exitFailed
	}
	return exitUsage
}

func mustPgid(pid int) int {
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		return -1
	}
	return pgid
}

// writeFakeReport writes a run's reports holding one spec in state.
func writeFakeReport(dir string, state types.SpecState, reasons []string) error {
	report := types.Report{
		SuiteDescription: "svccheck", SpecialSuiteFailureReasons: reasons,
		SpecReports: types.SpecReports{{
			ContainerHierarchyTexts: []string{"ClusterIP"}, LeafNodeType: types.NodeTypeIt, LeafNodeText: "works", State: state,
		}},
	}
	return reports.WriteFiles(dir, report, reports.FromGinkgo(report, reports.Metadata{}))
}

// fakeChildren starts the test binary as fake child runs with behaviour.
func fakeChildren(t *testing.T, behaviour string, stdout, stderr io.Writer) childStarter {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, args []string) *osexec.Cmd {
		cmd := childCommand(ctx, self, append([]string{"-test.run=^TestCompareFakeChild$", "--"}, args...), stdout, stderr, childWaitDelay)
		cmd.Env = append(os.Environ(), fakeChildEnv+"="+behaviour)
		return cmd
	}
}

// withProgress returns o with its progress going to w.
func withProgress(o *Options, w io.Writer) *Options {
	o.Progress = w
	return o
}

func compareTestOptions(t *testing.T) *Options {
	return &Options{Name: "svcchk-t", Output: t.TempDir(), Timeout: time.Minute, Workers: 2, Leftovers: NewLeftovers()}
}

func TestChildCommand(t *testing.T) {
	var stderr bytes.Buffer
	cmd := childCommand(context.Background(), "/bin/svccheck", []string{"run", "--proxy", "kube-proxy"}, io.Discard, &stderr, childWaitDelay)
	if want := []string{"/bin/svccheck", "run", "--proxy", "kube-proxy"}; strings.Join(cmd.Args, " ") != strings.Join(want, " ") {
		t.Errorf("Args = %q, want %q", cmd.Args, want)
	}
	if cmd.SysProcAttr == nil || !cmd.SysProcAttr.Setpgid {
		t.Errorf("SysProcAttr = %+v, want a process group of the child's own", cmd.SysProcAttr)
	}
	if cmd.Cancel == nil {
		t.Errorf("Cancel is nil: cancelling would SIGKILL the child before its teardown")
	}
	if cmd.WaitDelay != childWaitDelay || childWaitDelay < time.Minute {
		t.Errorf("WaitDelay = %s (childWaitDelay %s), want childWaitDelay, at least a minute for a cluster's teardown", cmd.WaitDelay, childWaitDelay)
	}
}

func TestCompareWritesComparison(t *testing.T) {
	o := compareTestOptions(t)
	var stdout, stderr syncBuffer
	res, err := compareRuns(context.Background(), withProgress(o, &stderr), fakeChildren(t, "results", &stdout, &stderr))
	if got := int(StatusOf(err)); got != exitFailed {
		t.Fatalf("compareRuns = %v (exit %d), want exit %d: kube-proxy failed a spec\nstderr:\n%s", err, got, exitFailed, stderr.String())
	}
	data, rerr := os.ReadFile(filepath.Join(o.Output, reports.FileComparison))
	if rerr != nil {
		t.Fatalf("reading %s: %v", reports.FileComparison, rerr)
	}
	for _, want := range []string{
		"# svccheck comparison: svccheck vs kube-proxy vs kube-proxy:nftables\n",
		"1 of 1 specs differ.",
		"| ClusterIP | works | passed | failed | failed | **DIFFERS** |",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %q:\n%s", reports.FileComparison, want, data)
		}
	}
	if res.Comparison == nil || res.Comparison.Disagreements() != 1 || res.Status != Failed {
		t.Errorf("Compare returned %+v, want the comparison with 1 disagreement, status Failed", res)
	}
}

func TestCompareInterruptLetsTheChildTearDown(t *testing.T) {
	o := compareTestOptions(t)
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := compareRuns(ctx, withProgress(o, &stderr), fakeChildren(t, "trap", &stdout, &stderr))
		errc <- err
	}()

	first := filepath.Join(o.Output, CompareModes[0].Dir())
	waitForFile(t, filepath.Join(first, fakeStarted), errc)
	cancel() // Ctrl-C
	var err error
	select {
	case err = <-errc:
	case <-time.After(time.Minute):
		t.Fatalf("compareRuns did not return after cancel\nstderr:\n%s", stderr.String())
	}

	if got := int(StatusOf(err)); got != exitFailed || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("compareRuns = %v (exit %d), want an interruption, exit %d", err, got, exitFailed)
	}
	groups, rerr := os.ReadFile(filepath.Join(first, fakeTornDown))
	if rerr != nil {
		t.Fatalf("the child did not tear down before compareRuns returned: %v\nstderr:\n%s", rerr, stderr.String())
	}
	var own, parent int
	if _, err := fmt.Sscan(string(groups), &own, &parent); err != nil || own == parent {
		t.Errorf("child process group %d, parent's %d (%v): want a group of its own, so a terminal Ctrl-C reaches it only once", own, parent, err)
	}
	if _, err := os.Stat(filepath.Join(o.Output, CompareModes[1].Dir())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the %s run started after the interrupt (stat: %v)", CompareModes[1], err)
	}
	if _, err := os.Stat(filepath.Join(o.Output, reports.FileComparison)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s written with one proxy's run (stat: %v)", reports.FileComparison, err)
	}
	if !strings.Contains(stderr.String(), "interrupted: waiting up to") {
		t.Errorf("stderr does not say the run waits for the child:\n%s", stderr.String())
	}
}

func TestCompareChildUsageErrorExits2(t *testing.T) {
	o := compareTestOptions(t)
	var stdout, stderr syncBuffer
	_, err := compareRuns(context.Background(), withProgress(o, &stderr), fakeChildren(t, "usage", &stdout, &stderr))
	if got := int(StatusOf(err)); got != exitUsage || !strings.Contains(err.Error(), "the svccheck run failed (exit 2)") {
		t.Errorf("compareRuns = %v (exit %d), want exit %d naming the svccheck run", err, got, exitUsage)
	}
	if _, err := os.Stat(filepath.Join(o.Output, CompareModes[1].Dir())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the %s run started after the first one failed (stat: %v)", CompareModes[1], err)
	}
}

// waitForFile waits until path exists, failing if errc delivers first.
func waitForFile(t *testing.T, path string, errc <-chan error) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case err := <-errc:
			t.Fatalf("compareRuns returned before %s appeared: %v", path, err)
		case <-deadline:
			t.Fatalf("%s did not appear", path)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestReadResultsProxy: a run's report.json names its proxy; one written
// before it did is read as the proxy the comparison ran it against.
func TestReadResultsProxy(t *testing.T) {
	dir := t.TempDir()
	report := types.Report{SuiteDescription: "svccheck", SuiteLabels: reports.ProxyLabels(proxy.Proxy{Mode: proxy.KubeProxyNFTables})}
	if err := reports.WriteFiles(dir, report, reports.FromGinkgo(report, reports.Metadata{})); err != nil {
		t.Fatal(err)
	}
	res, err := readResults(filepath.Join(dir, reports.FileJSON), proxy.KubeProxy)
	if err != nil || res.Meta.Proxy.Mode != proxy.KubeProxyNFTables {
		t.Errorf("readResults = %+v, %v; want the proxy report.json names, kube-proxy:nftables", res.Meta.Proxy, err)
	}
	old := t.TempDir()
	if err := writeFakeReport(old, types.SpecStatePassed, nil); err != nil {
		t.Fatal(err)
	}
	res, err = readResults(filepath.Join(old, reports.FileJSON), proxy.KubeProxy)
	if err != nil || res.Meta.Proxy.Mode != proxy.KubeProxy {
		t.Errorf("readResults of an old report.json = %+v, %v; want kube-proxy", res.Meta.Proxy, err)
	}
}
