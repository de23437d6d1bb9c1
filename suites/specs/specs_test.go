package specs_test

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/suites/runner"
	"github.com/svccheck/svccheck/suites/specs"
)

// TestSpecLabels walks the specs without running them (a Ginkgo dry run)
// and checks the labels --label-filter relies on.
func TestSpecLabels(t *testing.T) {
	report := dryRun(t)
	var leaves []types.SpecReport
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt {
			leaves = append(leaves, sr)
		}
	}
	if len(leaves) < 20 {
		t.Fatalf("found %d specs, want at least 20", len(leaves))
	}
	suites := map[string]int{}
	scale := 0
	for _, sr := range leaves {
		if slices.Contains(sr.Labels(), specs.LabelScale) {
			// The Scale measurement belongs to no suite: --scale runs
			// it alone.
			scale++
			continue
		}
		var mine []string
		for _, l := range sr.Labels() {
			if slices.Contains(specs.SuiteLabels, l) {
				mine = append(mine, l)
			}
		}
		// A spec belongs to one suite, or to two when it checks both
		// (session affinity through a node port).
		if len(mine) != 1 && !slices.Equal(mine, []string{specs.LabelAffinity, specs.LabelNodePort}) {
			t.Errorf("%q has suite labels %v, want exactly one", sr.FullText(), mine)
			continue
		}
		for _, l := range mine {
			suites[l]++
		}
		if strings.Contains(sr.FullText(), "UDP") && !slices.Contains(sr.Labels(), specs.LabelUDP) {
			t.Errorf("%q sends UDP but lacks the UDP label", sr.FullText())
		}
	}
	for _, s := range specs.SuiteLabels {
		if suites[s] == 0 {
			t.Errorf("suite %s has no specs", s)
		}
	}
	logLabelCounts(t, leaves)

	// The filters the documentation shows select what they say.
	count := func(filter string) int {
		f, err := types.ParseLabelFilter(filter)
		if err != nil {
			t.Fatalf("filter %q: %v", filter, err)
		}
		n := 0
		for _, sr := range leaves {
			if f(sr.Labels()) {
				n++
			}
		}
		return n
	}
	if got, want := count(specs.LabelAffinity), suites[specs.LabelAffinity]; got != want || want != 7 {
		t.Errorf("Affinity selects %d specs, want 7 (suite has %d)", got, want)
	}
	if got := count("Affinity && !Slow"); got != 5 {
		t.Errorf("'Affinity && !Slow' selects %d specs, want 5", got)
	}
	if got := count("Affinity && NodePort"); got != 3 {
		t.Errorf("'Affinity && NodePort' selects %d specs, want 3", got)
	}
	if got := count(specs.LabelUDP); got != 13 {
		t.Errorf("UDP selects %d specs, want 13", got)
	}
	if got, want := count("!Affinity"), len(leaves)-7; got != want {
		t.Errorf("'!Affinity' selects %d specs, want %d", got, want)
	}
	// A run without --scale filters with "!Scale", one with --scale with
	// "Scale": the measurement runs alone or not at all.
	if scale != 1 || count(specs.LabelScale) != 1 {
		t.Errorf("Scale labels %d specs (filter selects %d), want 1", scale, count(specs.LabelScale))
	}
	if got, want := count("!"+specs.LabelScale), len(leaves)-1; got != want {
		t.Errorf("'!Scale' selects %d specs, want %d", got, want)
	}
}

// logLabelCounts logs how many specs carry each label (go test -v), the
// figures the README's label table gives.
func logLabelCounts(t *testing.T, leaves []types.SpecReport) {
	counts := map[string]int{}
	for _, sr := range leaves {
		for _, l := range sr.Labels() {
			counts[l]++
		}
	}
	labels := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%s %d", l, counts[l])
	}
	t.Logf("%d specs; per label: %s", len(leaves), strings.Join(parts, ", "))
}

func TestSetEnvValidates(t *testing.T) {
	if err := specs.SetEnv(nil); err == nil {
		t.Error("SetEnv(nil) succeeded")
	}
	if err := specs.SetEnv(&specs.Env{}); err == nil {
		t.Error("SetEnv without a client succeeded")
	}
}

var (
	dryRunOnce   sync.Once
	dryRunReport types.Report
	dryRunErr    error
)

// dryRun walks the specs once per test process (Ginkgo allows one run per
// process) without running them, and returns the report.
func dryRun(t *testing.T) types.Report {
	t.Helper()
	dryRunOnce.Do(func() {
		var passed bool
		dryRunReport, passed, dryRunErr = runner.Run(runner.Options{DryRun: true, Progress: io.Discard})
		if dryRunErr == nil && !passed {
			dryRunErr = fmt.Errorf("dry run failed: %+v", dryRunReport.SpecReports)
		}
	})
	if dryRunErr != nil {
		t.Fatal(dryRunErr)
	}
	return dryRunReport
}
