package reports

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
)

// WriteJUnit writes report as JUnit XML with Ginkgo's own JUnit reporter.
func WriteJUnit(w io.Writer, report types.Report) error {
	return viaFile(w, "junit.xml", func(path string) error {
		return reporters.GenerateJUnitReport(report, path)
	})
}

// WriteJSON writes report as Ginkgo's JSON report (a one-element array of
// types.Report) with Ginkgo's own JSON reporter.
func WriteJSON(w io.Writer, report types.Report) error {
	return viaFile(w, "report.json", func(path string) error {
		return reporters.GenerateJSONReport(report, path)
	})
}

// viaFile runs generate, which writes to a path, in a temporary directory
// and copies what it wrote to w.
func viaFile(w io.Writer, name string, generate func(path string) error) error {
	dir, err := os.MkdirTemp("", "svccheck-report-")
	if err != nil {
		return fmt.Errorf("creating a temporary directory for %s: %w", name, err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name)
	if err := generate(path); err != nil {
		return fmt.Errorf("generating %s: %w", name, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading generated %s: %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// WriteFiles writes junit.xml and report.json (from Ginkgo's report) and
// summary.md (from res, normally FromGinkgo of the same report, with
// AddDumps applied) into the output directory dir, created if missing. Each
// file is written whole or not at all (WriteFileAtomic).
func WriteFiles(dir string, report types.Report, res Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating output directory: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{FileJUnit, func(w io.Writer) error { return WriteJUnit(w, report) }},
		{FileJSON, func(w io.Writer) error { return WriteJSON(w, report) }},
		{FileSummary, func(w io.Writer) error { return WriteSummary(w, res) }},
	}
	for _, f := range files {
		// Through a temporary file and a rename: a run killed meanwhile
		// leaves no truncated report for CI to read.
		if err := WriteFileAtomic(filepath.Join(dir, f.name), 0o644, f.write); err != nil {
			return err
		}
	}
	return nil
}

// WriteComparisonFile writes c as comparison.md (WriteComparisonMarkdown)
// into dir, the output directory of a --compare run, created if missing.
func WriteComparisonFile(dir string, c Comparison) error {
	var buf bytes.Buffer
	if err := WriteComparisonMarkdown(&buf, c); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating output directory: %w", err)
	}
	if err := WriteBytesAtomic(filepath.Join(dir, FileComparison), buf.Bytes(), 0o644); err != nil {
		return err
	}
	return nil
}
