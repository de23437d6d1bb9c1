package run

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svccheck/svccheck/doctor"
	"github.com/svccheck/svccheck/reports"
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
