package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/ginkgo/v2/types"
)

// part is the report of one run of a share of the specs a, b and c: ran
// names the specs it ran, with their states.
func part(start time.Time, ran map[string]types.SpecState, reasons ...string) types.Report {
	r := types.Report{
		SuiteDescription: "svccheck svccheck", SuiteSucceeded: true,
		StartTime: start, EndTime: start.Add(time.Minute),
		PreRunStats:                types.PreRunStats{TotalSpecs: 3, SpecsThatWillRun: len(ran)},
		SpecialSuiteFailureReasons: reasons,
	}
	r.SpecReports = append(r.SpecReports, types.SpecReport{LeafNodeType: types.NodeTypeReportAfterSuite, LeafNodeText: "svccheck report", State: types.SpecStatePassed})
	for i, name := range []string{"a", "b", "c"} {
		sr := types.SpecReport{
			ContainerHierarchyTexts: []string{"ClusterIP"}, LeafNodeText: name, LeafNodeType: types.NodeTypeIt,
			LeafNodeLocation: types.CodeLocation{FileName: "clusterip.go", LineNumber: 10 * (i + 1)},
			State:            types.SpecStateSkipped,
		}
		if st, ok := ran[name]; ok {
			sr.State, sr.StartTime, sr.RunTime = st, start, time.Second
			if st == types.SpecStateFailed {
				r.SuiteSucceeded = false
			}
		}
		r.SpecReports = append(r.SpecReports, sr)
	}
	return r
}

// states returns "text=state" of the It specs of r, in order.
func states(r types.Report) []string {
	var out []string
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt {
			out = append(out, sr.LeafNodeText+"="+sr.State.String())
		}
	}
	return out
}

func TestMergeGinkgo(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p1 := part(t0.Add(2*time.Second), map[string]types.SpecState{"a": types.SpecStatePassed, "c": types.SpecStateFailed})
	p2 := part(t0, map[string]types.SpecState{"b": types.SpecStatePassed}, "Interrupted by User")
	merged, err := MergeGinkgo([]types.Report{p1, p2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a=passed", "b=passed", "c=failed"}, states(merged)); diff != "" {
		t.Errorf("merged specs (-want +got):\n%s", diff)
	}
	if merged.SuiteSucceeded {
		t.Errorf("merged suite succeeded, want failed: one part failed")
	}
	if !merged.StartTime.Equal(t0) || !merged.EndTime.Equal(t0.Add(time.Minute+2*time.Second)) || merged.RunTime != time.Minute+2*time.Second {
		t.Errorf("merged times %v-%v (%v), want the earliest start and latest end", merged.StartTime, merged.EndTime, merged.RunTime)
	}
	if merged.PreRunStats != (types.PreRunStats{TotalSpecs: 3, SpecsThatWillRun: 3}) {
		t.Errorf("merged pre-run stats %+v, want 3 of 3", merged.PreRunStats)
	}
	if diff := cmp.Diff([]string{"Interrupted by User"}, merged.SpecialSuiteFailureReasons); diff != "" {
		t.Errorf("special failure reasons (-want +got):\n%s", diff)
	}
	res := FromGinkgo(merged, Metadata{})
	if res.Interrupted == "" || len(res.Specs) != 3 {
		t.Errorf("results of the merge: %d specs, interrupted %q; want 3 and the interruption", len(res.Specs), res.Interrupted)
	}

	// A spec left out by every part stays, once, as skipped.
	merged, err = MergeGinkgo([]types.Report{part(t0, map[string]types.SpecState{"a": types.SpecStatePassed}), part(t0, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a=passed", "b=skipped", "c=skipped"}, states(merged)); diff != "" {
		t.Errorf("merged specs (-want +got):\n%s", diff)
	}

	// A spec that skipped itself with a reason in one part is taken from
	// that part, whichever order the parts come in, and counts as run.
	selfSkip := part(t0, nil)
	for i := range selfSkip.SpecReports {
		if selfSkip.SpecReports[i].LeafNodeText == "b" {
			selfSkip.SpecReports[i].Failure.Message = "needs an iptables proxy"
		}
	}
	for _, parts := range [][]types.Report{{part(t0, nil), selfSkip}, {selfSkip, part(t0, nil)}} {
		merged, err = MergeGinkgo(parts)
		if err != nil {
			t.Fatal(err)
		}
		for _, sr := range merged.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				continue
			}
			if got, want := Ran(sr), sr.LeafNodeText == "b"; got != want {
				t.Errorf("spec %s: Ran = %v, want %v (message %q)", sr.LeafNodeText, got, want, sr.Failure.Message)
			}
		}
	}
}

func TestMergeGinkgoErrors(t *testing.T) {
	t0 := time.Now()
	twice := map[string]types.SpecState{"a": types.SpecStatePassed}
	other := part(t0, nil)
	other.SuiteDescription = "another suite"
	for _, tc := range []struct {
		name  string
		parts []types.Report
		want  string
	}{
		{"none", nil, "no reports"},
		{"a spec ran twice", []types.Report{part(t0, twice), part(t0, twice)}, "ran in two runs"},
		{"other suite", []types.Report{part(t0, nil), other}, "another suite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MergeGinkgo(tc.parts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("MergeGinkgo: got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestReadGinkgoJSON(t *testing.T) {
	want := part(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), map[string]types.SpecState{"b": types.SpecStatePassed})
	var buf bytes.Buffer
	if err := WriteJSON(&buf, want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), FileJSON)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadGinkgoJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(states(want), states(got)); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if _, err := ReadGinkgoJSON(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Errorf("reading a missing file: no error")
	}
}
