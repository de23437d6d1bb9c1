package specs_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCoverageNamesSpecs checks docs/coverage.md: every row maps an
// upstream spec to svccheck specs that exist (a Ginkgo dry run lists them)
// or says why none does.
func TestCoverageNamesSpecs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/coverage.md")
	if err != nil {
		t.Fatal(err)
	}
	report := dryRun(t)
	texts := map[string]bool{}
	for _, sr := range report.SpecReports {
		texts[sr.FullText()] = true
	}
	named := regexp.MustCompile("`([^`]+)`")
	rows := 0
	for i, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| upstream spec") {
			continue
		}
		rows++
		cells := strings.Split(strings.TrimSuffix(line, " |"), " | ")
		cell := cells[len(cells)-1]
		if strings.HasPrefix(cell, "none") {
			if !strings.Contains(cell, ":") {
				t.Errorf("docs/coverage.md:%d: %q names no spec and gives no reason", i+1, cell)
			}
			continue
		}
		ms := named.FindAllStringSubmatch(cell, -1)
		if len(ms) == 0 {
			t.Errorf("docs/coverage.md:%d: no svccheck spec named in %q", i+1, cell)
		}
		for _, m := range ms {
			if !texts[m[1]] {
				t.Errorf("docs/coverage.md:%d: no svccheck spec %q", i+1, m[1])
			}
		}
	}
	if rows < 90 {
		t.Errorf("docs/coverage.md has %d rows, want one per upstream spec (93)", rows)
	}
}
