package run

import (
	"encoding/json"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/ginkgo/v2/types"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
)

func TestCompareChildArgs(t *testing.T) {
	o := &Options{Name: "svcchk-st-cmp", Timeout: 10 * time.Minute, Workers: 2, LabelFilter: "ClusterIP", Focus: []string{"hairpin"}}
	got := o.childArgs(proxy.KubeProxyNFTables, "out/kube-proxy-nftables")
	want := []string{"run", "--proxy", "kube-proxy:nftables", "--name", "svcchk-st-cmp-kube-proxy-nftables",
		"--output", "out/kube-proxy-nftables", "--timeout", "10m0s", "--workers", "2",
		"--label-filter", "ClusterIP", "--focus", "hairpin"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("childArgs (-want +got):\n%s", diff)
	}
}

func TestChildExitCode(t *testing.T) {
	for _, want := range []int{1, 2} {
		// Through kind's exec (a RunError) and os/exec (an ExitError),
		// which childCommand uses.
		for _, err := range []error{
			exec.Command("sh", "-c", fmt.Sprintf("exit %d", want)).Run(),
			osexec.Command("sh", "-c", fmt.Sprintf("exit %d", want)).Run(),
		} {
			if got := childExitCode(err); got != want {
				t.Errorf("childExitCode(%v) = %d, want %d", err, got, want)
			}
		}
	}
	if got := childExitCode(osexec.Command("/nonexistent/svccheck").Run()); got != exitUsage {
		t.Errorf("childExitCode of a child that did not start = %d, want %d", got, exitUsage)
	}
}

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
		o := &Options{LabelFilter: tt.label, Scale: tt.scale}
		if got := o.specFilter(); got != tt.want {
			t.Errorf("specFilter(%q, --scale %d) = %q, want %q", tt.label, tt.scale, got, tt.want)
		}
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
	got, err := writeScale(dir, report)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Services != 3 {
		t.Errorf("writeScale returned %+v, want the figures of 3 Services", got)
	}
	back, ok, err := readScale(dir)
	if err != nil || !ok || back.Phases[0].All.P50 != reports.Duration(time.Second) {
		t.Errorf("readScale = %+v, %v, %v", back, ok, err)
	}
	summary, _ := os.ReadFile(filepath.Join(dir, reports.FileSummary))
	if !strings.Contains(string(summary), "| create | all | 1 | 0 | 1.000s |") {
		t.Errorf("scale figures missing:\n%s", summary)
	}
	if !strings.HasPrefix(string(summary), "# svccheck results\n") {
		t.Errorf("summary lost its head:\n%s", summary)
	}
	// A run without the entry writes nothing.
	empty := t.TempDir()
	if r, err := writeScale(empty, types.Report{}); err != nil || r != nil {
		t.Fatalf("writeScale without the entry = %+v, %v", r, err)
	}
	if _, ok, _ := readScale(empty); ok {
		t.Error("scale.json written for a run without --scale")
	}
}

func TestCompareScaleChildArgs(t *testing.T) {
	o := &Options{Name: "c", Timeout: time.Minute, Workers: 2, Scale: 10}
	if got := strings.Join(o.childArgs("kube-proxy", "d"), " "); !strings.Contains(got, "--scale 10") {
		t.Errorf("child run of --compare --scale 10: %s", got)
	}
}

func TestBrokenIsTheBreakList(t *testing.T) {
	if got := (&Options{}).broken(); got != nil {
		t.Errorf("broken() of an intact proxy = %q, want none", got)
	}
	if diff := cmp.Diff([]string{"affinity", "reject"}, (&Options{Break: "affinity,reject"}).broken()); diff != "" {
		t.Errorf("broken() (-want +got):\n%s", diff)
	}
}
