package preflight

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/svccheck/svccheck/suites/diag"
)

// TestClusterPodSecurityRefused runs the preflight against the cluster of
// SVCCHECK_TEST_KUBECONFIG with svccheck's namespaces labelled Pod Security
// baseline instead of privileged: the cluster's Pod Security admission
// must refuse both host pods, the preflight must say so, and its namespace
// must be gone afterwards.
func TestClusterPodSecurityRefused(t *testing.T) {
	path := os.Getenv("SVCCHECK_TEST_KUBECONFIG")
	if path == "" || testing.Short() {
		t.Skip("set SVCCHECK_TEST_KUBECONFIG to a cluster's kubeconfig (not with -short)")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runID := "pstest-" + time.Now().Format("150405")
	labels := NamespaceLabels(runID)
	labels[LabelPodSecurityEnforce] = "baseline"
	res, err := Run(ctx, Config{REST: rc, RunID: runID, NamespaceLabels: labels})
	var failed *Failed
	if !errors.As(err, &failed) {
		t.Fatalf("want the preflight to fail, got %v", err)
	}
	var ps []string
	for _, c := range res.Checks {
		if c.Name == CheckPodSecurity {
			ps = c.Problems
		} else if len(c.Problems) > 0 {
			t.Errorf("check %s failed too: %v", c.Name, c.Problems)
		}
	}
	if len(ps) != 2 {
		t.Fatalf("pod-security problems %q, want the host pod and the agent pod refused", ps)
	}
	for _, p := range ps {
		if !strings.Contains(p, `violates PodSecurity "baseline`) {
			t.Errorf("problem %q does not carry Pod Security's refusal", p)
		}
	}
	t.Logf("warnings: %v", res.Warnings)
	cs := kubernetes.NewForConfigOrDie(rc)
	l, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: diag.LabelRunID + "=" + runID})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range l.Items {
		if ns.DeletionTimestamp == nil {
			t.Errorf("namespace %s left behind, not even terminating", ns.Name)
		}
	}
}
