package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/onsi/ginkgo/v2/types"
)

// ReadGinkgoJSON reads a report.json written by WriteJSON (or Ginkgo's JSON
// reporter) back into the one suite report it holds.
func ReadGinkgoJSON(path string) (types.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return types.Report{}, fmt.Errorf("reading %s: %w", path, err)
	}
	var rs []types.Report
	if err := json.Unmarshal(data, &rs); err != nil {
		return types.Report{}, fmt.Errorf("parsing %s: %w", path, err)
	}
	if len(rs) != 1 {
		return types.Report{}, fmt.Errorf("parsing %s: want one suite report, found %d", path, len(rs))
	}
	return rs[0], nil
}

// MergeGinkgo merges the reports of runs that each ran a share of one
// suite's specs (svccheck run --parallel) into one report, as if one run had
// run them all. Every run reports every spec, the ones outside its share as
// skipped: a spec is taken from the run that ran it (see Ran), or once as
// skipped when none did, in the first report's order. Suite-level nodes (before and after the suite) are
// kept from every run. The merged run starts with the earliest and ends
// with the latest, succeeds when all did, and lists every special failure
// reason once.
func MergeGinkgo(parts []types.Report) (types.Report, error) {
	if len(parts) == 0 {
		return types.Report{}, fmt.Errorf("merging reports: no reports")
	}
	out := parts[0]
	out.SpecReports = nil
	out.SpecialSuiteFailureReasons = nil
	out.PreRunStats.SpecsThatWillRun = 0
	type key struct {
		text     string
		location string
	}
	chosen := map[key]int{} // index in out.SpecReports
	for i, p := range parts {
		if p.SuiteDescription != out.SuiteDescription {
			return types.Report{}, fmt.Errorf("merging reports: report %d is of suite %q, not %q", i, p.SuiteDescription, out.SuiteDescription)
		}
		out.SuiteSucceeded = out.SuiteSucceeded && p.SuiteSucceeded
		if p.StartTime.Before(out.StartTime) {
			out.StartTime = p.StartTime
		}
		if p.EndTime.After(out.EndTime) {
			out.EndTime = p.EndTime
		}
		out.PreRunStats.SpecsThatWillRun += p.PreRunStats.SpecsThatWillRun
		for _, r := range p.SpecialSuiteFailureReasons {
			if !slices.Contains(out.SpecialSuiteFailureReasons, r) {
				out.SpecialSuiteFailureReasons = append(out.SpecialSuiteFailureReasons, r)
			}
		}
		for _, sr := range p.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				out.SpecReports = append(out.SpecReports, sr)
				continue
			}
			k := key{sr.FullText(), sr.LeafNodeLocation.String()}
			at, seen := chosen[k]
			switch {
			case !seen:
				chosen[k] = len(out.SpecReports)
				out.SpecReports = append(out.SpecReports, sr)
			case !Ran(out.SpecReports[at]) && Ran(sr):
				out.SpecReports[at] = sr
			case Ran(sr) && Ran(out.SpecReports[at]):
				return types.Report{}, fmt.Errorf("merging reports: spec %q ran in two runs", sr.FullText())
			}
		}
	}
	out.RunTime = out.EndTime.Sub(out.StartTime)
	return out, nil
}

// Ran reports whether a run ran spec sr: it was not skipped, or it skipped
// itself with a reason (Skip in the spec), unlike a spec the run left out
// by its focus or label filter.
func Ran(sr types.SpecReport) bool {
	return sr.State != types.SpecStateSkipped || sr.Failure.Message != ""
}
