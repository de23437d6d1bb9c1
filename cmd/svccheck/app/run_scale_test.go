package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/reports"
)

// TestSpecFilterKeepsScaleApart checks that a run without --scale never
// selects the Scale specs and one with --scale selects them alone.
func TestSpecFilterKeepsScaleApart(t *testing.T) {
	tests := []struct {
		label string
		scale int
		want  string
	}{
		{"", 0, "!Scale"},
		{"ClusterIP", 0, "(ClusterIP) && !Scale"},
		{"", 200, "Scale"},
		{"A || B", 1000, "(A || B) && Scale"},
	}
	for _, tt := range tests {
		o := &runOptions{labelFilter: tt.label, scale: tt.scale}
		if got := o.specFilter(); got != tt.want {
			t.Errorf("specFilter(%q, --scale %d) = %q, want %q", tt.label, tt.scale, got, tt.want)
		}
	}
}

func TestScaleFlagChecks(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []*runOptions{
		{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, scale: -1, output: filepath.Join(dir, "a")},
		{proxy: "svccheck", parallel: 2, timeout: time.Minute, workers: 2, scale: 10, output: filepath.Join(dir, "b")},
	} {
		if err := o.complete(time.Now()); err == nil || !strings.Contains(err.Error(), "--scale") {
			t.Errorf("complete(--scale %d --parallel %d) = %v, want a --scale usage error", o.scale, o.parallel, err)
		}
	}
	o := &runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, scale: 10, compare: true, output: filepath.Join(dir, "c")}
	if err := o.complete(time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.childArgs("kube-proxy", "d"), " "); !strings.Contains(got, "--scale 10") {
		t.Errorf("child run of --compare --scale 10: %s", got)
	}
}

func TestWriteScaleFromTheSpecsEntry(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, reports.FileSummary), []byte("# svccheck results\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := reports.ScaleReport{Services: 3, ProxyMode: "svccheck", Phases: []reports.ScalePhase{{Name: "create", All: reports.NewLatencyStats("", []time.Duration{time.Second}, 0)}}}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	report := types.Report{SpecReports: types.SpecReports{{ReportEntries: types.ReportEntries{{Name: reports.ScaleEntry, Value: types.WrapEntryValue(string(js))}}}}}
	var out bytes.Buffer
	if err := writeScale(dir, report, &out); err != nil {
		t.Fatal(err)
	}
	back, ok, err := readScale(dir)
	if err != nil || !ok || back.Phases[0].All.P50 != reports.Duration(time.Second) {
		t.Errorf("readScale = %+v, %v, %v", back, ok, err)
	}
	summary, _ := os.ReadFile(filepath.Join(dir, reports.FileSummary))
	for _, text := range []string{string(summary), out.String()} {
		if !strings.Contains(text, "| create | all | 1 | 0 | 1.000s |") {
			t.Errorf("scale figures missing:\n%s", text)
		}
	}
	if !strings.HasPrefix(string(summary), "# svccheck results\n") {
		t.Errorf("summary lost its head:\n%s", summary)
	}
	// A run without the entry writes nothing.
	empty := t.TempDir()
	if err := writeScale(empty, types.Report{}, &out); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := readScale(empty); ok {
		t.Error("scale.json written for a run without --scale")
	}
}
