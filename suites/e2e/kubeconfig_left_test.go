//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/diag"
)

// kindNodeDump dumps the kind cluster name through Docker (`svccheck dump
// --name`), the way a kind run dumps its nodes, and returns the directory.
func kindNodeDump(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	dir := outputDir(t, "kind-dump-"+name)
	if code := run(t, ctx, "dump", "--name", name, "--output", dir); code != 0 {
		t.Fatalf("svccheck dump --name %s exited %d; see %s", name, code, dir)
	}
	return dir
}

// dumpFailed is how a node dump file says its command or read failed.
var dumpFailed = []byte("# svccheck: FAILED")

// checkNodeDumps checks the node dumps of the run in dir against the kind
// dump of the same cluster in want: the same nodes, each with the same
// files, and no file failed that did not fail in the kind dump.
func checkNodeDumps(t *testing.T, dir, want string) {
	t.Helper()
	got, wantFiles := nodeDumpFiles(t, dir), nodeDumpFiles(t, want)
	if len(got) == 0 {
		t.Fatalf("no node dumps in %s", dir)
	}
	if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(wantFiles)); !slices.Equal(g, w) {
		t.Errorf("nodes dumped: %v, a kind dump of the cluster: %v", g, w)
	}
	for node, files := range wantFiles {
		if !slices.Equal(got[node], files) {
			t.Errorf("node %s: the run's dump holds %v, a kind dump %v", node, got[node], files)
		}
		for _, f := range got[node] {
			if failed(t, filepath.Join(dir, reports.DirNodes, node, f)) && !failed(t, filepath.Join(want, reports.DirNodes, node, f)) {
				t.Errorf("node %s: %s failed in the run's dump, not in a kind dump; see %s", node, f, dir)
			}
		}
	}
	t.Logf("node dumps: %d nodes, %d files each, as a kind dump", len(got), len(got[slices.Sorted(maps.Keys(got))[0]]))
}

// nodeDumpFiles returns, per node directory under dir/nodes, the sorted
// names of its files (not the failure dumps beneath).
func nodeDumpFiles(t *testing.T, dir string) map[string][]string {
	t.Helper()
	nodes, err := os.ReadDir(filepath.Join(dir, reports.DirNodes))
	if err != nil {
		t.Fatalf("node dumps in %s: %v", dir, err)
	}
	out := map[string][]string{}
	for _, n := range nodes {
		entries, err := os.ReadDir(filepath.Join(dir, reports.DirNodes, n.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, e.Name())
			}
		}
		out[n.Name()] = files
	}
	return out
}

func failed(t *testing.T, path string) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, dumpFailed)
}

// goneWithin is how long the namespaces a run deleted may take to go.
const goneWithin = 2 * time.Minute

// checkNothingLeft checks through the API that no object of any kind the
// server lists carries the run's id label, once the namespaces the run
// deleted are gone (within goneWithin). A namespace of the run not being
// deleted fails at once.
func checkNothingLeft(t *testing.T, ctx context.Context, kubeconfig, runID string) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// Listing every kind lists deprecated ones too; nothing to warn about.
	cfg.WarningHandler = rest.NoWarnings{}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil {
		t.Fatalf("discovering the API's resources: %v", err)
	}
	var kinds []schema.GroupVersionResource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.APIResources {
			if slices.Contains(r.Verbs, "list") && !strings.Contains(r.Name, "/") {
				kinds = append(kinds, gv.WithResource(r.Name))
			}
		}
	}
	sel := metav1.ListOptions{LabelSelector: diag.LabelRunID + "=" + runID}
	var left []string
	deadline := time.Now().Add(goneWithin)
	for {
		left = left[:0]
		for _, gvr := range kinds {
			list, err := dyn.Resource(gvr).List(ctx, sel)
			if err != nil {
				t.Fatalf("listing %s labelled %s: %v", gvr, sel.LabelSelector, err)
			}
			for _, o := range list.Items {
				if gvr.Resource == "namespaces" && o.GetDeletionTimestamp() == nil {
					t.Fatalf("namespace %s of run %s is left, not being deleted", o.GetName(), runID)
				}
				left = append(left, describe(gvr, &o))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if len(left) > 0 {
		t.Errorf("run %s left, %s after it ended: %s", runID, goneWithin, strings.Join(left, ", "))
	}
	t.Logf("no object of the %d kinds the API lists is labelled %s", len(kinds), sel.LabelSelector)
}

func describe(gvr schema.GroupVersionResource, o metav1.Object) string {
	name := o.GetName()
	if ns := o.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return gvr.Resource + " " + name
}
