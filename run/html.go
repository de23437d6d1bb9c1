package run

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/svccheck/svccheck/reports"
)

// WriteHTMLReport writes report.html into dir from res and the node dumps
// under dir. A failure is only a warning, to stderr: the other reports stand.
func WriteHTMLReport(dir string, h reports.HTMLReport, stderr io.Writer) {
	if err := h.ReadHTMLDumps(dir); err != nil {
		fmt.Fprintf(stderr, "warning: %s: %v\n", reports.FileHTML, err)
	}
	if err := reports.WriteHTMLFile(dir, h); err != nil {
		fmt.Fprintf(stderr, "warning: %v\n", err)
		return
	}
	fmt.Fprintf(stderr, "browsable report: %s\n", filepath.Join(dir, reports.FileHTML))
}

// writeComparisonHTML writes the report.html of a --compare run: the
// comparison, linking each proxy mode's own report.html.
func writeComparisonHTML(dir string, c reports.Comparison, modes []string, stderr io.Writer) {
	runs := map[string]string{}
	for i, m := range c.Modes {
		if i < len(modes) {
			runs[m] = filepath.ToSlash(filepath.Join(modes[i], reports.FileHTML))
		}
	}
	h := reports.HTMLReport{Title: "svccheck comparison", Comparison: &c, Runs: runs}
	if err := reports.WriteHTMLFile(dir, h); err != nil {
		fmt.Fprintf(stderr, "warning: %v\n", err)
	}
}
