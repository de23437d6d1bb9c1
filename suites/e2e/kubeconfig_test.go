//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
)

func init() {
	onKubeProxyCluster = append(onKubeProxyCluster, clusterCheck{"RunKubeconfig", checkRunKubeconfig})
}

// kubeconfigFilter keeps the run through --kubeconfig short: specs that
// probe from pods and from the nodes' network (host pods), and one that
// reads every node's rules.
const kubeconfigFilter = "(Headless || ETPLocal) && !Terminating && !Disruptive"

// checkRunKubeconfig runs `svccheck run --kubeconfig` against the cluster
// as against one another tool made, with Docker unreachable (so neither
// kind nor docker can be used): every spec passes or skips, versions.yaml
// says kube-proxy in iptables mode, the run id labels what it creates, and
// nothing svccheck created remains afterwards.
func checkRunKubeconfig(t *testing.T, ctx context.Context, name string) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(home, ".kube", "svccheck-"+name+".yaml")
	image := svccheckImage(t)
	dir := outputDir(t, "kubeconfig")
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	code := run(t, ctx, "run", "--kubeconfig", kubeconfig, "--image", image, "--parallel", "3",
		"--label-filter", kubeconfigFilter, "--output", dir)
	if code != 0 {
		t.Errorf("svccheck run --kubeconfig exited %d, want 0; see %s", code, dir)
	}
	checkLayout(t, dir)

	var v diag.Versions
	data, err := os.ReadFile(filepath.Join(dir, reports.DirCluster, reports.FileVersions))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.ProxyMode != "kube-proxy" || !strings.Contains(v.ProxyDetection, "mode iptables") {
		t.Errorf("versions.yaml: proxyMode %q detected by %q, want kube-proxy, mode iptables", v.ProxyMode, v.ProxyDetection)
	}
	if v.RunID == "" {
		t.Fatal("versions.yaml has no runID")
	}
	summary, err := os.ReadFile(filepath.Join(dir, reports.FileSummary))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(summary), "| Run id | "+v.RunID+" |") {
		t.Errorf("summary.md does not record run id %s", v.RunID)
	}
	report := readReport(t, dir)
	if !strings.Contains(strings.Join(report.SuiteLabels, " "), diag.LabelRunID+"="+v.RunID) {
		t.Errorf("report.json suite labels %v do not record run id %s", report.SuiteLabels, v.RunID)
	}
	checkNodeDumps(t, dir)
	checkNothingLeft(t, ctx, kubeconfig, v.RunID)
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

// checkNodeDumps checks every node's dump holds the files a kind run's does.
func checkNodeDumps(t *testing.T, dir string) {
	t.Helper()
	nodes, err := os.ReadDir(filepath.Join(dir, reports.DirNodes))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("no node dumps in %s: %v", dir, err)
	}
	want := []string{diag.FileIPTablesNAT, diag.FileIPTablesFilter, diag.FileIPTablesBackend, diag.FileNFTables, diag.FileConntrack,
		diag.FileIPAddr, diag.FileIPRoute, diag.FileIPRule, diag.FileSysctl, diag.FileMetrics, diag.FileHealthz, diag.FileProxyLog}
	for _, n := range nodes {
		for _, f := range want {
			if _, err := os.Stat(filepath.Join(dir, reports.DirNodes, n.Name(), f)); err != nil {
				t.Errorf("node dump %s: %v", n.Name(), err)
			}
		}
	}
}

// checkNothingLeft checks that every namespace and pod labelled with the
// run's id is gone, or being deleted and gone within goneWithin: the run
// deletes its namespaces without waiting for them to go.
func checkNothingLeft(t *testing.T, ctx context.Context, kubeconfig, runID string) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sel := metav1.ListOptions{LabelSelector: diag.LabelRunID + "=" + runID}
	var left []string
	deadline := time.Now().Add(goneWithin)
	for {
		left = left[:0]
		nss, err := cs.CoreV1().Namespaces().List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range nss.Items {
			if ns.DeletionTimestamp == nil {
				t.Fatalf("namespace %s of run %s is left, not being deleted", ns.Name, runID)
			}
			left = append(left, "namespace "+ns.Name)
		}
		pods, err := cs.CoreV1().Pods("").List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			left = append(left, "pod "+p.Namespace+"/"+p.Name)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if len(left) > 0 {
		t.Errorf("run %s left, %s after it ended: %s", runID, goneWithin, strings.Join(left, ", "))
	}
}

// goneWithin is how long the namespaces a run deleted may take to go.
const goneWithin = 2 * time.Minute
