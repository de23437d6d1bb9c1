//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/reports"
)

// Settings, from the environment (make e2e sets them).
var (
	binary = envOr("SVCCHECK_BIN", "../../bin/svccheck")
	// baseName starts the names of the clusters the tests create:
	// <baseName>-<pid of this process>[-kp], so a run killed before its
	// cleanup leaves clusters the next run reaps (TestMain).
	baseName = envOr("SVCCHECK_E2E_NAME", "svcchk-st-e2e")
	outRoot  = envOr("SVCCHECK_E2E_OUTPUT", "")
	// reuse runs against the existing cluster SVCCHECK_E2E_NAME (made by
	// the same binary) instead of creating and deleting one.
	reuse = os.Getenv("SVCCHECK_E2E_REUSE") != ""
	// name is the cluster the tests run on.
	name = clusterName()
)

func clusterName() string {
	if reuse {
		return baseName
	}
	return leftover.Name(baseName, "")
}

// TestMain deletes the clusters of e2e runs that are gone before the tests
// create their own.
func TestMain(m *testing.M) {
	if !reuse {
		if err := reapClusters(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// reapClusters deletes the kind clusters named <baseName>-<pid>[-...]
// whose process is gone, with svccheck cluster delete.
func reapClusters() error {
	names, err := kindcluster.NewProvider(kindcluster.ProviderWithDocker()).List()
	if err != nil {
		return fmt.Errorf("listing kind clusters: %w", err)
	}
	reaped, err := leftover.ReapClusters(names, baseName, true, func(name string) error {
		return exec.Command(binary, "cluster", "delete", "--name", name).Run()
	})
	if len(reaped) > 0 {
		fmt.Fprintf(os.Stderr, "deleted the clusters of e2e runs that are gone: %v\n", reaped)
	}
	return err
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// run runs svccheck with args and returns its exit code.
func run(t *testing.T, ctx context.Context, args ...string) int {
	t.Helper()
	t.Logf("running %s %s", binary, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.SetStdout(os.Stdout)
	cmd.SetStderr(os.Stderr)
	start := time.Now()
	err := cmd.Run()
	t.Logf("took %s", time.Since(start).Round(time.Second))
	if err == nil {
		return 0
	}
	// kind's RunError does not unwrap to the process's error.
	var re *exec.RunError
	if errors.As(err, &re) && re.Inner != nil {
		err = re.Inner
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	t.Fatalf("running svccheck: %v", err)
	return -1
}

// readReport reads a run's report.json.
func readReport(t *testing.T, dir string) types.Report {
	t.Helper()
	r, err := reports.ReadGinkgoJSON(filepath.Join(dir, reports.FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func outputDir(t *testing.T, sub string) string {
	t.Helper()
	if outRoot == "" {
		return filepath.Join(t.TempDir(), sub)
	}
	dir := filepath.Join(outRoot, sub)
	// Dumps of an earlier run must not be mistaken for this run's.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRun creates a cluster with svccheck's proxy, runs every suite on it
// three specs at a time (they must all pass), then reruns the specs with the proxy broken on
// purpose, one breakage at a time, three specs at a time with --parallel 3
// (exactly the specs that check the broken behaviour must fail; see
// breakages), and deletes the cluster.
func TestRun(t *testing.T) {
	ctx := context.Background()
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("no svccheck binary at %s (run make build): %v", binary, err)
	}

	intact := outputDir(t, "intact")
	args := []string{"run", "--proxy", "svccheck", "--name", name, "--parallel", "3", "--output", intact}
	if reuse {
		args = append(args, "--reuse")
	} else {
		args = append(args, "--keep-cluster")
		t.Cleanup(func() { run(t, context.Background(), "cluster", "delete", "--name", name) })
	}
	if code := run(t, ctx, args...); code != 0 {
		t.Errorf("svccheck run against the intact proxy exited %d, want 0; see %s", code, intact)
	}
	checkLayout(t, intact)
	checkDoctorClean(t, intact)
	intactReport := readReport(t, intact)
	for _, b := range breakages {
		t.Run(b.name, func(t *testing.T) { checkBreakage(t, ctx, b, intactReport) })
	}
	runOn(t, ctx, onSvccheckCluster, name)
}

// checkDoctorClean checks that the doctor a run ran after its specs found
// nothing: the cluster is healthy, and the specs' own namespaces, gone or
// going by then, are not judged against the nodes' final rules.
func checkDoctorClean(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, reports.FileDoctor))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Findings []struct{ ID, Node, Message string }
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("%s: %v", reports.FileDoctor, err)
	}
	for _, f := range rep.Findings {
		t.Errorf("doctor after the run: %s %s: %s", f.ID, f.Node, f.Message)
	}
}

// clusterCheck is a test that runs on a cluster another test made, after
// that test's own checks and before the cluster is deleted, so that the
// e2e tests share clusters instead of each making its own.
type clusterCheck struct {
	name string
	run  func(t *testing.T, ctx context.Context, cluster string)
	// disruptive checks break the cluster for a while or cut svccheck
	// short in it; runOn runs them after the others.
	disruptive bool
}

// onSvccheckCluster run in TestRun's cluster (svccheck's proxy) after the
// breakage runs, in the order files register them from init, the
// disruptive ones last.
var onSvccheckCluster []clusterCheck

// onKubeProxyCluster run in TestRunKubeProxy's iptables-mode cluster
// (stock kube-proxy) after its run.
var onKubeProxyCluster []clusterCheck

// onKubeProxyNFTablesCluster run in TestRunKubeProxy's nftables-mode
// cluster (stock kube-proxy) after its run.
var onKubeProxyNFTablesCluster []clusterCheck

// runOn runs checks as subtests of t on cluster, in order, the disruptive
// ones after the others.
func runOn(t *testing.T, ctx context.Context, checks []clusterCheck, cluster string) {
	checks = slices.Clone(checks)
	slices.SortStableFunc(checks, func(a, b clusterCheck) int {
		switch {
		case a.disruptive == b.disruptive:
			return 0
		case a.disruptive:
			return 1
		}
		return -1
	})
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, ctx, cluster) })
	}
}

// specTexts returns the sorted full texts of report's specs.
func specTexts(report types.Report) []string {
	var out []string
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt {
			out = append(out, sr.FullText())
		}
	}
	slices.Sort(out)
	return out
}

// checkLayout checks the output directory holds what the layout promises.
func checkLayout(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{reports.FileJUnit, reports.FileJSON, reports.FileSummary, reports.FileDoctor, reports.DirNodes, filepath.Join(reports.DirCluster, reports.FileVersions)} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("output %s: %v", dir, err)
		}
	}
}

// checkNoAffinityRules reads the failure-time nat dumps of the broken run:
// they must hold the affinity Service's rules, none of them a recent match.
func checkNoAffinityRules(t *testing.T, dir string) {
	t.Helper()
	var sticky, recent int
	err := filepath.WalkDir(filepath.Join(dir, reports.DirNodes), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, "/"+reports.DirFailures+"/") || !strings.Contains(d.Name(), "nat") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if bytes.Contains(line, []byte("/sticky:http")) {
				sticky++
				if bytes.Contains(line, []byte("-m recent")) {
					recent++
					t.Errorf("%s: affinity rule in the broken proxy's dump: %s", path, line)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sticky == 0 {
		t.Errorf("no rules of the affinity Service (sticky) in the failure dumps under %s: the check proves nothing", dir)
	}
	t.Logf("%d rules of the affinity Service in the failure dumps, %d with recent", sticky, recent)
}

// kubeProxyModes are the modes of stock kube-proxy TestRunKubeProxy runs
// the suites against, one cluster each, made and deleted in turn.
var kubeProxyModes = []struct {
	// proxy is the --proxy value; suffix ends the cluster's name.
	proxy, suffix string
	// checks run on the cluster after the suites; a pointer, as files
	// register them from init, after this is set.
	checks *[]clusterCheck
}{
	{proxy: "kube-proxy", suffix: "-kp", checks: &onKubeProxyCluster},
	{proxy: "kube-proxy:nftables", suffix: "-kpnft", checks: &onKubeProxyNFTablesCluster},
}

// TestRunKubeProxy runs every suite against stock kube-proxy, in iptables
// mode, then in nftables mode, each on a cluster of its own with
// --parallel 3: the suites describe Service behaviour, not svccheck's
// proxy, so they must all pass there too (the specs that read iptables
// rules skip in nftables mode and say why).
func TestRunKubeProxy(t *testing.T) {
	if reuse {
		t.Skip("SVCCHECK_E2E_REUSE names a cluster with svccheck's proxy; the kube-proxy runs need clusters of their own")
	}
	ctx := context.Background()
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("no svccheck binary at %s (run make build): %v", binary, err)
	}
	for _, m := range kubeProxyModes {
		t.Run(m.proxy, func(t *testing.T) {
			kp := name + m.suffix
			dir := outputDir(t, strings.TrimPrefix(m.suffix, "-"))
			t.Cleanup(func() { run(t, context.Background(), "cluster", "delete", "--name", kp) })
			if code := run(t, ctx, "run", "--proxy", m.proxy, "--name", kp, "--keep-cluster", "--parallel", "3", "--output", dir); code != 0 {
				t.Errorf("svccheck run against %s exited %d, want 0; see %s", m.proxy, code, dir)
			}
			checkLayout(t, dir)
			checkKubeProxyReport(t, readReport(t, dir), m.proxy)
			if m.checks != nil {
				runOn(t, ctx, *m.checks, kp)
			}
		})
	}
}

// checkKubeProxyReport checks that specs passed against kube-proxy, and
// that every skipped spec the run selected said why.
func checkKubeProxyReport(t *testing.T, report types.Report, proxy string) {
	t.Helper()
	var passed, skipped int
	for _, sr := range leaves(report) {
		switch sr.State {
		case types.SpecStatePassed:
			passed++
		case types.SpecStateSkipped:
			skipped++
			// A run without --scale leaves the Scale spec out by its
			// label filter: not selected, so no reason to give.
			if sr.Failure.Message == "" && !slices.Contains(sr.Labels(), "Scale") {
				t.Errorf("%q skipped against %s without saying why", sr.FullText(), proxy)
			}
		}
	}
	if passed == 0 {
		t.Errorf("no spec passed against %s", proxy)
	}
	t.Logf("%d specs passed against %s, %d skipped", passed, proxy, skipped)
}

// TestChecksOnly runs the registered cluster checks whose names match the
// regular expression SVCCHECK_E2E_CHECKS, alone, on the existing cluster
// SVCCHECK_E2E_NAME (with SVCCHECK_E2E_REUSE set): the way to work on one
// check without the suite runs before it.
func TestChecksOnly(t *testing.T) {
	pattern := os.Getenv("SVCCHECK_E2E_CHECKS")
	if !reuse || pattern == "" {
		t.Skip("set SVCCHECK_E2E_REUSE=1, SVCCHECK_E2E_NAME=<cluster> and SVCCHECK_E2E_CHECKS=<regexp> to run cluster checks alone")
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("SVCCHECK_E2E_CHECKS: %v", err)
	}
	var picked []clusterCheck
	for _, c := range slices.Concat(onSvccheckCluster, onKubeProxyCluster, onKubeProxyNFTablesCluster) {
		if re.MatchString(c.name) {
			picked = append(picked, c)
		}
	}
	if len(picked) == 0 {
		t.Fatalf("no cluster check matches %q", pattern)
	}
	runOn(t, context.Background(), picked, name)
}
