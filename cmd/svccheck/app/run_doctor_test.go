package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/svccheck/svccheck/doctor"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/diag"
)

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
