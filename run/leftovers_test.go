package run

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/svccheck/svccheck/suites/diag"
)

func TestLeftoversQuit(t *testing.T) {
	l := NewLeftovers()
	l.AddCluster("svccheck-run")
	l.AddCluster("svccheck-run-kube-proxy")
	l.AddCluster("gone")
	l.RemoveCluster("gone")

	// A child run in a process group of its own, waiting for SIGINT.
	cmd := childCommand(context.Background(), "/bin/sh", []string{"-c", "trap 'exit 7' INT; while :; do sleep 0.1; done"}, io.Discard, io.Discard, time.Minute)
	done := make(chan error, 1)
	go func() { done <- l.RunChild(cmd) }()
	if !waitFor(func() bool { l.mu.Lock(); defer l.mu.Unlock(); return len(l.children) == 1 }) {
		t.Fatal("the child never showed up as running")
	}
	var stderr syncBuffer
	l.Quit(&stderr)
	select {
	case err := <-done:
		if code := childExitCode(err); code != 7 {
			t.Errorf("child exited %d (%v), want 7: it did not get the SIGINT", code, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the child did not get the forced quit")
	}
	want := "svccheck: left behind: kind cluster svccheck-run (delete it with: svccheck cluster delete --name svccheck-run)\n" +
		"svccheck: left behind: kind cluster svccheck-run-kube-proxy (delete it with: svccheck cluster delete --name svccheck-run-kube-proxy)\n"
	if got := stderr.String(); got != want {
		t.Errorf("quit said %q, want %q", got, want)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(cond func() bool) bool {
	for range 200 {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// TestLeftoversQuitHostPods: a forced quit during a dump names the host
// pods' namespace and the kubectl command that deletes them.
func TestLeftoversQuitHostPods(t *testing.T) {
	l := NewLeftovers()
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	cs.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj := action.(k8stesting.CreateAction).GetObject().(metav1.Object)
		obj.SetName(obj.GetGenerateName() + "x")
		if pod, ok := obj.(*corev1.Pod); ok {
			pod.Status.Phase = corev1.PodRunning
		}
		return false, nil, nil
	})
	pods := &diag.HostPods{Clientset: cs, Image: "i", RunID: "abc"}
	l.AddHostPods(pods, "/kc")
	var stderr syncBuffer
	l.Quit(&stderr)
	if got := stderr.String(); got != "" {
		t.Errorf("quit before the pods exist said %q, want nothing", got)
	}
	if _, _, err := pods.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Quit(&stderr)
	got := stderr.String()
	for _, want := range []string{"left behind: namespace svccheck-dump-x with host pods dump-x (node n1)",
		"delete them with: kubectl --kubeconfig /kc delete namespace svccheck-dump-x"} {
		if !strings.Contains(got, want) {
			t.Errorf("quit said %q, want %q", got, want)
		}
	}
	l.RemoveHostPods(pods)
	stderr = syncBuffer{}
	l.Quit(&stderr)
	if got := stderr.String(); got != "" {
		t.Errorf("quit after the pods were deleted said %q, want nothing", got)
	}
}

func TestLeftoversQuitKubeconfigRun(t *testing.T) {
	ns := func(name, run string, deleting bool) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{diag.LabelRunID: run}}}
		if deleting {
			n.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}
		return n
	}
	cs := fake.NewClientset(ns("svcchk-b", "r1", false), ns("svccheck-dump-a", "r1", false),
		ns("svcchk-gone", "r1", true), ns("svcchk-other", "r2", false), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	l := NewLeftovers()
	l.AddRun(cs, "/kc.yaml", "r1", &diag.HostPods{Clientset: cs, RunID: "r1"})
	var stderr syncBuffer
	l.Quit(&stderr)
	// The namespaces of this run that are not already going, never
	// another run's, and the command that removes them.
	want := "svccheck: left behind: namespaces svccheck-dump-a, svcchk-b, labelled svccheck.io/run-id=r1 " +
		"(remove them with: svccheck cleanup --kubeconfig /kc.yaml --run r1)\n"
	if got := stderr.String(); got != want {
		t.Errorf("quit said %q, want %q", got, want)
	}
}
