package runner

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

func TestTrackerLines(t *testing.T) {
	var buf bytes.Buffer
	tr := newTracker(&buf, time.Hour)
	defer tr.stop()
	tr.suiteStart(types.Report{PreRunStats: types.PreRunStats{TotalSpecs: 5, SpecsThatWillRun: 2}})
	spec := types.SpecReport{ContainerHierarchyTexts: []string{"ClusterIP"}, LeafNodeText: "reaches every backend over time"}
	tr.specStart(spec)
	spec.State, spec.RunTime = types.SpecStatePassed, 2340*time.Millisecond
	tr.specEnd(spec)
	skipped := types.SpecReport{LeafNodeText: "filtered out", State: types.SpecStateSkipped}
	tr.specStart(skipped)
	tr.specEnd(skipped)

	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"running 2 of 5 specs",
		"[1/2 0m00s] ClusterIP reaches every backend over time ...",
		"[1/2 0m00s] ClusterIP reaches every backend over time: passed in 2.3s",
	}
	if len(got) != len(want) {
		t.Fatalf("got lines %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func TestOptionsConfig(t *testing.T) {
	sc, rc := Options{LabelFilter: "ClusterIP", Focus: []string{"hairpin"}, Timeout: time.Minute}.Config()
	if sc.LabelFilter != "ClusterIP" || len(sc.FocusStrings) != 1 || sc.Timeout != time.Minute || sc.ParallelTotal != 1 {
		t.Errorf("suite config %+v", sc)
	}
	if !rc.Succinct || rc.Verbose || !rc.NoColor {
		t.Errorf("reporter config %+v", rc)
	}
	_, rc = Options{Verbose: true}.Config()
	if rc.Succinct || !rc.Verbose {
		t.Errorf("verbose reporter config %+v", rc)
	}
}
