package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svccheck/svccheck/doctor"
)

const doctorFixture = "../../../doctor/testdata/svccheck"

// brokenFixture copies the healthy fixture with ip_forward off on kind-worker.
func brokenFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.Walk(doctorFixture, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(doctorFixture, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err == nil && rel == filepath.Join("nodes", "kind-worker", "sysctl.txt") {
			data = bytes.Replace(data, []byte("ip_forward = 1"), []byte("ip_forward = 0"), 1)
		}
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDoctorExitCodes(t *testing.T) {
	broken := brokenFixture(t)
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"healthy dump", []string{"doctor", "--dump", doctorFixture}, ExitOK, "0 errors, 0 warnings"},
		{"broken dump", []string{"doctor", "--dump", broken}, ExitFailed, "SVC031 error   node kind-worker"},
		{"not a dump", []string{"doctor", "--dump", t.TempDir()}, ExitUsage, ""},
		{"two sources", []string{"doctor", "--dump", broken, "--name", "x"}, ExitUsage, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), tc.args, &stdout, &stderr)
			if got := ExitCode(err); got != tc.code {
				t.Errorf("exit code %d, want %d (stderr %s)", got, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout does not hold %q:\n%s", tc.out, stdout.String())
			}
		})
	}
}

func TestDoctorJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"doctor", "--dump", brokenFixture(t), "--json"}, &stdout, &stderr)
	if ExitCode(err) != ExitFailed {
		t.Fatalf("exit code %d, want %d: %v", ExitCode(err), ExitFailed, err)
	}
	var rep doctor.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decoding the JSON: %v\n%s", err, stdout.String())
	}
	if len(rep.Findings) != 1 || rep.Findings[0].ID != "SVC031" || len(rep.Findings[0].Evidence) != 1 ||
		!strings.HasPrefix(rep.Findings[0].Evidence[0], "nodes/kind-worker/sysctl.txt:1: ") {
		t.Errorf("findings = %+v, want one SVC031 with its sysctl.txt line", rep.Findings)
	}
}
