package reports

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/svccheck/svccheck/internal/browser"
	"github.com/svccheck/svccheck/internal/testenv"
)

// TestHTMLInChromium opens the fixture's report.html in headless Chromium
// and checks what a person sees: the failing specs, the passed filter, a
// Service's chain link. Screenshots go to $SVCCHECK_SCREENSHOTS when set.
func TestHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	if _, err := browser.Chromium(); errors.Is(err, browser.ErrNoChromium) {
		testenv.Unavailable(t, "%v", err)
	}
	r := htmlFixture(t)
	dir := t.TempDir()
	// The page links the dump files beside it: write it where they are.
	if err := os.CopyFS(dir, os.DirFS("testdata/html")); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTMLFile(dir, r); err != nil {
		t.Fatal(err)
	}
	want := browser.ReportChecks{Passed: r.Results.Totals().Passed}
	for _, s := range r.Results.Specs {
		if s.Result.Failed() {
			want.Failed = append(want.Failed, s.FullText())
		}
	}
	shots := os.Getenv("SVCCHECK_SCREENSHOTS")
	if shots != "" {
		shots = filepath.Join(shots, "fixture")
	}
	if err := browser.CheckReport(context.Background(), filepath.Join(dir, FileHTML), shots, want); err != nil {
		t.Error(err)
	}
}
