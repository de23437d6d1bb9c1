//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/svccheck/svccheck/internal/browser"
	"github.com/svccheck/svccheck/reports"
)

// htmlBreakage is the breakage run whose report.html is opened in a real
// browser: its specs fail, its failures have node dumps.
const htmlBreakage = "terminating"

// checkReportHTML opens the report.html of the run in dir in headless
// Chromium and checks what a person sees there: the failing specs, the
// passed filter, a Service's chain link landing on its rules. The
// screenshots stay in dir/screenshots, with the run's other artifacts.
func checkReportHTML(t *testing.T, ctx context.Context, dir string) {
	t.Helper()
	res := reports.FromGinkgo(readReport(t, dir), reports.Metadata{})
	want := browser.ReportChecks{Passed: res.Totals().Passed}
	for _, s := range res.Specs {
		if s.Result.Failed() {
			want.Failed = append(want.Failed, s.FullText())
		}
	}
	if len(want.Failed) == 0 {
		t.Fatalf("no spec failed in %s: report.html's failure view is not checked", dir)
	}
	shots := filepath.Join(dir, "screenshots")
	if err := browser.CheckReport(ctx, filepath.Join(dir, reports.FileHTML), shots, want); err != nil {
		t.Errorf("report.html of %s in chromium: %v", dir, err)
	}
	t.Logf("report.html checked in chromium: %d failed and %d passed specs; screenshots in %s", len(want.Failed), want.Passed, shots)
}
