package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
// scale.json in dir, appends them to summary.md and prints them.
func writeScale(dir string, report types.Report, stdout io.Writer) error {
	r, ok, err := scaleOf(report)
	if err != nil || !ok {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the scale report: %w", err)
	}
	if err := reports.WriteBytesAtomic(filepath.Join(dir, reports.FileScale), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the scale report: %w", err)
	}
	var md bytes.Buffer
	if err := reports.WriteScaleMarkdown(&md, r); err != nil {
		return fmt.Errorf("writing the scale report: %w", err)
	}
	summary, err := os.OpenFile(filepath.Join(dir, reports.FileSummary), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("adding the scale figures to the summary: %w", err)
	}
	_, werr := summary.Write(append([]byte("\n"), md.Bytes()...))
	if err := summary.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("adding the scale figures to the summary: %w", werr)
	}
	fmt.Fprintln(stdout)
	_, err = stdout.Write(md.Bytes())
	return err
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
// side by side, to comparison.md and prints them; nothing when no run
// measured any.
func compareScale(out string, dirs []string, stdout io.Writer) error {
	var runs []reports.ScaleReport
	for _, d := range dirs {
		r, ok, err := readScale(filepath.Join(out, d))
		if err != nil {
			return err
		}
		if ok {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil
	}
	var md bytes.Buffer
	if err := reports.WriteScaleComparison(&md, runs); err != nil {
		return fmt.Errorf("comparing the scale figures: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(out, reports.FileComparison), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("adding the scale figures to the comparison: %w", err)
	}
	_, werr := f.Write(append([]byte("\n"), md.Bytes()...))
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("adding the scale figures to the comparison: %w", werr)
	}
	fmt.Fprintln(stdout)
	_, err = stdout.Write(md.Bytes())
	return err
}
