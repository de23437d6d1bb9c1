//go:build e2e

package e2e

import (
	"context"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/workload"
)

// checkReports checks the reports in a run's output directory out: each of
// junit.xml, report.json and summary.md absent (all of them, unless
// wantWhole) or whole, no temporary file beside them, and returns the
// verdict of summary.md ("" without one).
func checkReports(t *testing.T, out string, wantWhole bool) string {
	t.Helper()
	tmps, _ := filepath.Glob(filepath.Join(out, ".*.tmp-*"))
	if len(tmps) > 0 {
		t.Errorf("half-written reports left in %s: %v", out, tmps)
	}
	present := 0
	for _, f := range []string{reports.FileJUnit, reports.FileJSON, reports.FileSummary} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			present++
		}
	}
	if present == 0 && !wantWhole {
		return ""
	}
	if present != 3 {
		t.Errorf("%d of the 3 reports in %s, want all or none", present, out)
	}
	data, err := os.ReadFile(filepath.Join(out, reports.FileJUnit))
	var suites struct {
		XMLName xml.Name `xml:"testsuites"`
		Tests   int      `xml:"tests,attr"`
	}
	if err == nil {
		err = xml.Unmarshal(data, &suites)
	}
	if err != nil {
		t.Errorf("junit.xml in %s: %v", out, err)
	}
	if _, err := reports.ReadGinkgoJSON(filepath.Join(out, reports.FileJSON)); err != nil {
		t.Errorf("report.json in %s: %v", out, err)
	}
	summary, err := os.ReadFile(filepath.Join(out, reports.FileSummary))
	if err != nil {
		t.Errorf("summary.md in %s: %v", out, err)
		return ""
	}
	m := regexp.MustCompile(`(?m)^# svccheck results: (PASSED|FAILED|INTERRUPTED)`).FindSubmatch(summary)
	if m == nil {
		t.Errorf("summary.md in %s is not whole: %q", out, summary)
		return ""
	}
	return string(m[1])
}

// checkVerdictCode checks that a run whose interrupt came after its specs
// ended exited as its results say: 0 when they passed, 1 otherwise.
func checkVerdictCode(t *testing.T, verdict string, code int) {
	t.Helper()
	want := 1
	if verdict == reports.VerdictPassed {
		want = 0
	}
	if code != want {
		t.Errorf("svccheck run whose results say %s exited %d, want %d", verdict, code, want)
	}
}

func init() {
	onSvccheckCluster = append(onSvccheckCluster,
		clusterCheck{name: "interrupt in a spec", run: testInterruptSpec, disruptive: true},
		clusterCheck{name: "interrupt in the dumps", run: testInterruptDumps, disruptive: true})
}

// testInterruptSpec interrupts a run on a reused cluster while a spec
// runs: the results say INTERRUPTED and the run's namespaces go.
func testInterruptSpec(t *testing.T, ctx context.Context, c string) {
	out := outputDir(t, "interrupt-spec")
	w := watchNamespaces(t, ctx, c)
	r := interruptAt(t, nil, stageSpecs, specStarted, 3*time.Second, "run", "--reuse", "--name", c, "--output", out, "--focus", longSpec)
	made := w.stop()
	if r.code != exitInterrupted {
		t.Errorf("svccheck run interrupted in a spec exited %d, want %d", r.code, exitInterrupted)
	}
	if v := checkReports(t, out, true); v != reports.VerdictInterrupted {
		t.Errorf("summary.md of a run interrupted in a spec says %q, want %s", v, reports.VerdictInterrupted)
	}
	checkNamespacesGone(t, ctx, c, made)
}

// testInterruptDumps interrupts a run on a reused cluster while it dumps
// the nodes: the dumps and the reports are finished, and the results
// stand.
func testInterruptDumps(t *testing.T, ctx context.Context, c string) {
	out := outputDir(t, "interrupt-dumps")
	w := watchNamespaces(t, ctx, c)
	r := interruptAt(t, nil, stageDumps, nil, time.Second, "run", "--reuse", "--name", c, "--output", out, "--focus", quickSpec)
	made := w.stop()
	checkVerdictCode(t, checkReports(t, out, true), r.code)
	checkLayout(t, out)
	checkNamespacesGone(t, ctx, c, made)
}

// nsWatch collects the namespaces svccheck's specs make (labelled
// workload.ManagedLabel) and the client containers that appear on a
// cluster while a run goes on.
type nsWatch struct {
	done       chan struct{}
	result     chan []string
	containers map[string]bool
	t          *testing.T
	cluster    string
}

// clientContainers lists the client containers of cluster c.
func clientContainers(t *testing.T, c string) []string {
	return dockerLines(t, "ps", "-a", "--filter", "label="+cluster.ExternalClientLabel+"="+c, "--format", "{{.Names}}")
}

func watchNamespaces(t *testing.T, ctx context.Context, c string) *nsWatch {
	t.Helper()
	cs := clientset(t, c)
	before, err := managedNamespaces(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	w := &nsWatch{done: make(chan struct{}), result: make(chan []string), containers: map[string]bool{}, t: t, cluster: c}
	for _, n := range clientContainers(t, c) {
		w.containers[n] = true
	}
	go func() {
		made := map[string]bool{}
		for {
			now, _ := managedNamespaces(ctx, cs)
			for _, ns := range now {
				if !slices.Contains(before, ns) {
					made[ns] = true
				}
			}
			select {
			case <-w.done:
				w.result <- slices.Sorted(maps.Keys(made))
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return w
}

// stop ends the watch, checks that no client container of the run is
// left, and returns the namespaces that appeared.
func (w *nsWatch) stop() []string {
	close(w.done)
	made := <-w.result
	for _, n := range clientContainers(w.t, w.cluster) {
		if !w.containers[n] {
			w.t.Errorf("client container %s of the interrupted run left behind", n)
		}
	}
	w.t.Logf("the run made namespaces %v", made)
	return made
}

func clientset(t *testing.T, c string) kubernetes.Interface {
	t.Helper()
	path, err := cluster.DefaultKubeconfigPath(c)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("kubeconfig of cluster %s: %v", c, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func managedNamespaces(ctx context.Context, cs kubernetes.Interface) ([]string, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: workload.ManagedLabel})
	if err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	var out []string
	for _, ns := range list.Items {
		out = append(out, ns.Name)
	}
	return out, nil
}

// checkNamespacesGone checks that each namespace in made is gone or being
// deleted.
func checkNamespacesGone(t *testing.T, ctx context.Context, c string, made []string) {
	t.Helper()
	cs := clientset(t, c)
	for _, name := range made {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			t.Errorf("namespace %s: %v", name, err)
		case ns.DeletionTimestamp == nil:
			t.Errorf("namespace %s of the interrupted run left behind", name)
		}
	}
}
