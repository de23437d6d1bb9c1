package cleanup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/svccheck/svccheck/suites/diag"
)

func ns(name, runID string, managed bool, age time.Duration) *corev1.Namespace {
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{},
		CreationTimestamp: metav1.NewTime(time.Now().Add(-age))}}
	if managed {
		n.Labels[diag.LabelManagedBy] = diag.ManagedBy
	}
	if runID != "" {
		n.Labels[diag.LabelRunID] = runID
	}
	return n
}

func names(runs []Run) map[string][]string {
	out := map[string][]string{}
	for _, r := range runs {
		for _, n := range r.Namespaces {
			out[r.ID] = append(out[r.ID], n.Name)
		}
	}
	return out
}

func TestFindGroupsByRun(t *testing.T) {
	cs := fake.NewClientset(ns("a-2", "aaa", true, time.Minute), ns("a-1", "aaa", true, 2*time.Minute),
		ns("b-1", "bbb", true, time.Hour), ns("old", "", true, time.Second),
		ns("theirs", "aaa", false, time.Minute), ns("kube-system", "", false, time.Hour))
	runs, err := Find(context.Background(), cs, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"aaa": {"a-1", "a-2"}, "bbb": {"b-1"}, NoRunID: {"old"}}
	if diff := cmp.Diff(want, names(runs)); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	if runs[0].ID != "bbb" {
		t.Errorf("first run %s, want the oldest, bbb", runs[0].ID)
	}
	runs, err = Find(context.Background(), cs, "aaa")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"aaa": {"a-1", "a-2"}}, names(runs)); diff != "" {
		t.Errorf("run aaa (-want +got):\n%s", diff)
	}
}

// TestClusterCleanup runs against the cluster of SVCCHECK_TEST_KUBECONFIG:
// it makes two labelled runs (one with a pod that never starts) and an
// unlabelled namespace, removes one run and checks the other run and the
// unlabelled namespace are still there; then removes them.
func TestClusterCleanup(t *testing.T) {
	path := os.Getenv("SVCCHECK_TEST_KUBECONFIG")
	if path == "" || testing.Short() {
		t.Skip("set SVCCHECK_TEST_KUBECONFIG to a cluster's kubeconfig (not with -short)")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	suffix := randomID()
	runA, runB := "test-a-"+suffix, "test-b-"+suffix
	keep := "svccheck-cleanup-keep-" + suffix
	for _, n := range []*corev1.Namespace{ns("svccheck-cleanup-a1-"+suffix, runA, true, 0), ns("svccheck-cleanup-a2-"+suffix, runA, true, 0),
		ns("svccheck-cleanup-b1-"+suffix, runB, true, 0), ns(keep, runA, false, 0)} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), n.Name, metav1.DeleteOptions{}) })
	}
	createPod(t, ctx, cs, "svccheck-cleanup-a1-"+suffix)
	runs, err := Find(ctx, cs, runA)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{runA: {"svccheck-cleanup-a1-" + suffix, "svccheck-cleanup-a2-" + suffix}}
	if diff := cmp.Diff(want, names(runs)); diff != "" {
		t.Fatalf("run %s (-want +got):\n%s", runA, diff)
	}
	start := time.Now()
	if err := Delete(ctx, cs, runs, func(s string) { t.Log(s) }); err != nil {
		t.Fatal(err)
	}
	t.Logf("run %s removed in %s", runA, time.Since(start).Round(time.Second))
	for _, name := range want[runA] {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s: want it gone, got %v", name, err)
		}
	}
	for _, name := range []string{keep, "svccheck-cleanup-b1-" + suffix} {
		n, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil || n.DeletionTimestamp != nil {
			t.Errorf("namespace %s must be left alone: %v (deleting: %v)", name, err, err == nil && n.DeletionTimestamp != nil)
		}
	}
	runs, err = Find(ctx, cs, runB)
	if err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, cs, runs, func(s string) { t.Log(s) }); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(runs, func(r Run) bool { return r.ID == runB }) {
		t.Errorf("run %s not found", runB)
	}
}

// createPod creates a pod whose image cannot be pulled, so it never runs:
// cleanup must still remove it without waiting for a kubelet.
func createPod(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stuck", Labels: map[string]string{diag.LabelManagedBy: diag.ManagedBy}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "svccheck.local/does-not-exist:0"}},
			AutomountServiceAccountToken: new(bool)},
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the default ServiceAccount is on its way
	}
}

func randomID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
