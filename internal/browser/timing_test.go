package browser

import (
	"context"
	"os"
	"testing"
)

// TestMeasureReportLoad prints the size and load time of the report.html
// named by $SVCCHECK_REPORT_HTML (a full run's), three loads in a row:
// SVCCHECK_REPORT_HTML=DIR/report.html go test -run TestMeasureReportLoad -v ./internal/browser/
func TestMeasureReportLoad(t *testing.T) {
	path := os.Getenv("SVCCHECK_REPORT_HTML")
	if path == "" {
		t.Skip("set SVCCHECK_REPORT_HTML to a report.html to measure")
	}
	for i := range 3 {
		lt, err := MeasureLoad(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("load %d: %d bytes, %d elements, DOMContentLoaded %s, load %s", i+1, lt.Bytes, lt.Elements, lt.DOMContentLoaded, lt.Load)
	}
}
