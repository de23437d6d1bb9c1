package run

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/reports"
)

// scaleOf returns the ScaleReport a Scale spec recorded in report, if any.
func scaleOf(report types.Report) (reports.ScaleReport, bool, error) {
	for _, sr := range report.SpecReports {
		for _, e := range sr.ReportEntries {
			if e.Name != reports.ScaleEntry {
				continue
			}
			r, err := reports.ScaleFromEntry(e.StringRepresentation())
			return r, err == nil, err
		}
	}
	return reports.ScaleReport{}, false, nil
}

// writeScale writes the figures of a --scale run, if report has them, to
// scale.json in dir, appends them to summary.md and returns them; nil when
// report has none.
func writeScale(dir string, report types.Report) (*reports.ScaleReport, error) {
	r, ok, err := scaleOf(report)
	if err != nil || !ok {
		return nil, err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the scale report: %w", err)
	}
	if err := reports.WriteBytesAtomic(filepath.Join(dir, reports.FileScale), append(js, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("writing the scale report: %w", err)
	}
	var md bytes.Buffer
	if err := reports.WriteScaleMarkdown(&md, r); err != nil {
		return nil, fmt.Errorf("writing the scale report: %w", err)
	}
	if err := appendFile(filepath.Join(dir, reports.FileSummary), md.Bytes()); err != nil {
		return nil, fmt.Errorf("adding the scale figures to the summary: %w", err)
	}
	return &r, nil
}

// appendFile appends an empty line and md to the file path.
func appendFile(path string, md []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(append([]byte("\n"), md...))
	if err := f.Close(); werr == nil {
		werr = err
	}
	return werr
}

// readScale reads the scale.json of a run's output directory; ok is false
// when the run wrote none.
func readScale(dir string) (r reports.ScaleReport, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, reports.FileScale))
	if os.IsNotExist(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("reading the scale report: %w", err)
	}
	r, err = reports.ScaleFromEntry(string(data))
	return r, err == nil, err
}

// compareScale appends the scale figures of the runs in dirs (under out),
// side by side, to comparison.md and returns them; nothing when no run
// measured any.
func compareScale(out string, dirs []string) ([]reports.ScaleReport, error) {
	var runs []reports.ScaleReport
	for _, d := range dirs {
		r, ok, err := readScale(filepath.Join(out, d))
		if err != nil {
			return nil, err
		}
		if ok {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil, nil
	}
	var md bytes.Buffer
	if err := reports.WriteScaleComparison(&md, runs); err != nil {
		return nil, fmt.Errorf("comparing the scale figures: %w", err)
	}
	if err := appendFile(filepath.Join(out, reports.FileComparison), md.Bytes()); err != nil {
		return nil, fmt.Errorf("adding the scale figures to the comparison: %w", err)
	}
	return runs, nil
}
