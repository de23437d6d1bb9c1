//go:build e2e

package e2e

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
	"sigs.k8s.io/yaml"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
)

func init() {
	onKubeProxyCluster = append(onKubeProxyCluster, clusterCheck{name: "RunKubeconfig",
		run: foreignRun{proxy: proxy.KubeProxy, found: "mode iptables"}.check})
	onKubeProxyNFTablesCluster = append(onKubeProxyNFTablesCluster, clusterCheck{name: "RunKubeconfigNFTables",
		run: foreignRun{proxy: proxy.KubeProxyNFTables, found: "mode nftables"}.check})
	onSvccheckCluster = append(onSvccheckCluster, clusterCheck{name: "RunKubeconfigSvccheck",
		run: foreignRun{proxy: proxy.Svccheck, found: "DaemonSet kube-system/svccheck-proxy"}.check})
}

// kubeconfigFilter picks the specs of the runs through --kubeconfig: every
// kind of node work host pods carry (probes from the nodes' network and
// from hostNetwork pods, reading every node's rules, tracing packets
// through them, reading xt_recent lists), skips for want of a client
// outside the cluster or of iptables rules, and the health check node
// ports. On a loaded 2-core machine it adds about 30 s to each run over
// Headless and ETPLocal alone (13 specs run, 1m33s against nftables).
const kubeconfigFilter = "(Headless || ETPLocal || ITPLocal || (Affinity && Rules)) && !Terminating && !Disruptive"

// foreignRun is `svccheck run --kubeconfig` against a cluster as against
// one another tool made, and the proxy it must find there.
type foreignRun struct {
	// proxy is the proxyMode versions.yaml and summary.md must say, found
	// by what proxyDetection must contain.
	proxy proxy.Mode
	found string
}

// check runs svccheck with Docker unreachable (so neither kind nor docker
// can be used): every spec the filter selects passes or skips saying why,
// versions.yaml and summary.md name the proxy and the run id, every node's
// dump holds the files a kind dump of the same cluster holds, and nothing
// labelled with the run id remains afterwards.
func (f foreignRun) check(t *testing.T, ctx context.Context, name string) {
	kubeconfig := kubeconfigPath(t, name)
	image := svccheckImage(t)
	kindDump := kindNodeDump(t, ctx, name)
	dir := outputDir(t, "kubeconfig-"+strings.ReplaceAll(string(f.proxy), ":", "-"))
	noDocker := forbidDocker(t)
	code := run(t, ctx, "run", "--kubeconfig", kubeconfig, "--image", image, "--parallel", "3",
		"--label-filter", kubeconfigFilter, "--output", dir)
	if code != 0 {
		t.Errorf("svccheck run --kubeconfig exited %d, want 0; see %s", code, dir)
	}
	checkLayout(t, dir)
	noDocker.check(t)

	var v diag.Versions
	data, err := os.ReadFile(filepath.Join(dir, reports.DirCluster, reports.FileVersions))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.ProxyMode != string(f.proxy) || !strings.Contains(v.ProxyDetection, f.found) {
		t.Errorf("versions.yaml: proxyMode %q found by %q, want %s found by %q", v.ProxyMode, v.ProxyDetection, f.proxy, f.found)
	}
	if v.RunID == "" {
		t.Fatal("versions.yaml has no runID")
	}
	summary, err := os.ReadFile(filepath.Join(dir, reports.FileSummary))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"| Run id | " + v.RunID + " |", "| Proxy mode | " + string(f.proxy) + " |"} {
		if !strings.Contains(string(summary), row) {
			t.Errorf("summary.md has no row %q", row)
		}
	}
	report := readReport(t, dir)
	if !strings.Contains(strings.Join(report.SuiteLabels, " "), diag.LabelRunID+"="+v.RunID) {
		t.Errorf("report.json suite labels %v do not record run id %s", report.SuiteLabels, v.RunID)
	}
	checkSelectedSpecs(t, report, kubeconfigFilter)
	checkNodeDumps(t, dir, kindDump)
	checkNothingLeft(t, ctx, kubeconfig, v.RunID)
}

// dockerTrap makes any use of Docker or kind by the processes this test
// starts fail, and records it.
type dockerTrap struct{ log string }

// forbidDocker points DOCKER_HOST at a socket that does not exist and puts
// docker and kind commands first on PATH that record their arguments and
// fail, for the rest of the test.
func forbidDocker(t *testing.T) dockerTrap {
	t.Helper()
	dir := t.TempDir()
	trap := dockerTrap{log: filepath.Join(dir, "calls.log")}
	for _, cmd := range []string{"docker", "kind"} {
		script := "#!/bin/sh\necho \"" + cmd + " $*\" >>'" + trap.log + "'\nexit 1\n"
		if err := os.WriteFile(filepath.Join(dir, cmd), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return trap
}

// check fails the test for every docker or kind command run so far.
func (d dockerTrap) check(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(d.log)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Errorf("svccheck used Docker or kind on a cluster reached through its kubeconfig:\n%s", data)
}

// kubeconfigPath is the kubeconfig svccheck cluster create wrote for the
// cluster name.
func kubeconfigPath(t *testing.T, name string) string {
	t.Helper()
	path, err := cluster.DefaultKubeconfigPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// checkSelectedSpecs checks that every spec the label filter selects
// passed or skipped saying why, and that some passed.
func checkSelectedSpecs(t *testing.T, report types.Report, filter string) {
	t.Helper()
	selected, err := types.ParseLabelFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	var passed, skipped int
	for _, sr := range leaves(report) {
		if !selected(sr.Labels()) {
			continue
		}
		switch {
		case sr.State == types.SpecStatePassed:
			passed++
		case sr.State == types.SpecStateSkipped && sr.Failure.Message != "":
			skipped++
			t.Logf("%q skipped: %s", sr.FullText(), sr.Failure.Message)
		default:
			t.Errorf("%q %s, want passed or skipped with a reason", sr.FullText(), sr.State)
		}
	}
	if passed == 0 {
		t.Errorf("no spec selected by %q passed", filter)
	}
	t.Logf("%d selected specs passed, %d skipped with a reason", passed, skipped)
}

// svccheckImage returns the svccheck image loaded on the e2e cluster's
// nodes: the one this binary's `cluster create` side-loaded, or
// SVCCHECK_E2E_IMAGE.
func svccheckImage(t *testing.T) string {
	t.Helper()
	if image := os.Getenv("SVCCHECK_E2E_IMAGE"); image != "" {
		// A cluster another svccheck build made has that build's image.
		return image
	}
	image, err := cluster.ImageName(binary)
	if err != nil {
		t.Fatalf("naming the svccheck image: %v", err)
	}
	return image
}
