package run

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/svccheck/svccheck/doctor"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/diag"
)

func TestWriteDoctorFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, reports.FileSummary), []byte("# Results\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := doctor.Report{Nodes: []string{"n1"}, ProxyMode: "svccheck", Findings: []doctor.Finding{{
		ID: "SVC031", Severity: doctor.SeverityError, Node: "n1", Message: "ip_forward off", Action: "turn it on"}}}
	if err := writeDoctorFiles(dir, rep); err != nil {
		t.Fatal(err)
	}
	summary, _ := os.ReadFile(filepath.Join(dir, reports.FileSummary))
	if !strings.HasPrefix(string(summary), "# Results\n\n## Doctor\n") || !strings.Contains(string(summary), "| SVC031 | error | n1 | ip_forward off |") {
		t.Errorf("summary.md:\n%s", summary)
	}
	data, err := os.ReadFile(filepath.Join(dir, reports.FileDoctor))
	if err != nil {
		t.Fatal(err)
	}
	var got doctor.Report
	if err := json.Unmarshal(data, &got); err != nil || len(got.Findings) != 1 {
		t.Errorf("doctor.json = %s (%v)", data, err)
	}
}

// TestDoctorExtrasDockerOnlyForKind checks that the dumps doctor adds
// after a run ask Docker for its networks on a kind cluster only: a
// cluster reached through its kubeconfig may be run from a host with no
// Docker at all.
func TestDoctorExtrasDockerOnlyForKind(t *testing.T) {
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	script := "#!/bin/sh\necho \"docker $*\" >>'" + calls + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	networks := func(dir string) string { return filepath.Join(dir, reports.DirCluster, doctor.FileDockerNetworks) }

	dir := t.TempDir()
	if err := doctorExtras(context.Background(), &diag.Collector{}, false, dir); err != nil {
		t.Errorf("doctorExtras for a cluster reached through its kubeconfig: %v", err)
	}
	if data, err := os.ReadFile(calls); err == nil {
		t.Errorf("doctorExtras ran docker for a cluster reached through its kubeconfig:\n%s", data)
	}
	if _, err := os.Stat(networks(dir)); err == nil {
		t.Errorf("doctorExtras wrote %s for a cluster reached through its kubeconfig", doctor.FileDockerNetworks)
	}

	if err := doctorExtras(context.Background(), &diag.Collector{}, true, t.TempDir()); err == nil {
		t.Error("doctorExtras for a kind cluster succeeded with docker failing, want its error")
	}
	if _, err := os.Stat(calls); err != nil {
		t.Errorf("doctorExtras did not ask docker for a kind cluster's networks: %v", err)
	}
}

// TestDoctorExtrasNamesLiveNamespaces checks that the dumps doctor adds
// after a run name the namespaces still there and not being deleted, so
// that doctor leaves out the spec namespaces dumped earlier and deleted
// since, or going.
func TestDoctorExtrasNamesLiveNamespaces(t *testing.T) {
	dir := t.TempDir()
	gone := filepath.Join(dir, reports.DirCluster, "svcchk-gone")
	if err := os.MkdirAll(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "svcchk-going"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}})
	if err := doctorExtras(context.Background(), &diag.Collector{Clientset: cs}, false, dir); err != nil {
		t.Fatalf("doctorExtras: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, reports.DirCluster, doctor.FileLiveNamespaces))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), "default\nkube-system\n"; got != want {
		t.Errorf("%s = %q, want %q", doctor.FileLiveNamespaces, got, want)
	}
}
