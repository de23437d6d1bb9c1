package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// newTable returns a table writing to w whose headers are printed as given
// (tablewriter's default upper-cases them and turns "-" into spaces, which
// mangles "kube-proxy").
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
}

// WriteTable writes the terminal summary: one row per spec (suite, spec,
// result, duration, nodes) and a totals line (StatusLine: it says when the
// run was interrupted).
func WriteTable(w io.Writer, r Results) error {
	table := newTable(w)
	table.Header("SUITE", "SPEC", "RESULT", "DURATION", "NODES")
	for _, s := range r.Specs {
		result := string(s.Result)
		if s.Result.Failed() {
			result = strings.ToUpper(result)
		}
		if err := table.Append(s.Suite, s.Text, result, FormatDuration(s.Duration), strings.Join(s.Nodes, ", ")); err != nil {
			return fmt.Errorf("adding a table row: %w", err)
		}
	}
	if err := table.Render(); err != nil {
		return fmt.Errorf("rendering the summary table: %w", err)
	}
	line := StatusLine(r)
	if d := formatRunTime(r.Meta.Start, r.Meta.End); d != "" {
		line += " in " + d
	}
	if _, err := fmt.Fprintln(w, line); err != nil {
		return fmt.Errorf("writing totals: %w", err)
	}
	return nil
}

// Comparison lines up the same specs of several runs, one column per run
// (per proxy mode).
type Comparison struct {
	// Modes names the runs' columns, in order: each run's proxy mode, or
	// "run N" when a run has none.
	Modes []string
	// Rows has one entry per spec seen in any run, in the order of the
	// first run that has it.
	Rows []ComparisonRow
}

// ComparisonRow is one spec across runs.
type ComparisonRow struct {
	// Suite and Text identify the spec, as in Spec.
	Suite, Text string
	// Results holds the spec's result in each run, ResultMissing where a
	// run lacks the spec.
	Results []Result
	// Differs is true when the runs do not all agree.
	Differs bool
}

// Disagreements counts the rows whose runs disagree.
func (c Comparison) Disagreements() int {
	n := 0
	for _, r := range c.Rows {
		if r.Differs {
			n++
		}
	}
	return n
}

// Compare lines up runs spec by spec, keyed by the spec's full text.
func Compare(runs ...Results) Comparison {
	var c Comparison
	index := map[string]int{}
	for i, run := range runs {
		mode := run.Meta.Proxy.String()
		if mode == "" {
			mode = fmt.Sprintf("run %d", i+1)
		}
		c.Modes = append(c.Modes, mode)
		for _, s := range run.Specs {
			key := s.key()
			row, ok := index[key]
			if !ok {
				row = len(c.Rows)
				index[key] = row
				results := make([]Result, len(runs))
				for j := range results {
					results[j] = ResultMissing
				}
				c.Rows = append(c.Rows, ComparisonRow{Suite: s.Suite, Text: s.Text, Results: results})
			}
			c.Rows[row].Results[i] = s.Result
		}
	}
	for i := range c.Rows {
		for _, r := range c.Rows[i].Results[1:] {
			if r != c.Rows[i].Results[0] {
				c.Rows[i].Differs = true
			}
		}
	}
	return c
}

// WriteComparison writes c as a terminal table, one column per proxy mode;
// rows where the modes disagree are marked "DIFFERS". A last line counts the
// disagreements.
func WriteComparison(w io.Writer, c Comparison) error {
	table := newTable(w)
	header := []any{"SUITE", "SPEC"}
	for _, m := range c.Modes {
		header = append(header, m)
	}
	table.Header(append(header, "AGREE")...)
	for _, row := range c.Rows {
		cells := []any{row.Suite, row.Text}
		for _, r := range row.Results {
			cells = append(cells, string(r))
		}
		mark := "yes"
		if row.Differs {
			mark = "DIFFERS"
		}
		if err := table.Append(append(cells, mark)...); err != nil {
			return fmt.Errorf("adding a comparison row: %w", err)
		}
	}
	if err := table.Render(); err != nil {
		return fmt.Errorf("rendering the comparison table: %w", err)
	}
	_, err := fmt.Fprintf(w, "%d of %d specs differ between %s\n",
		c.Disagreements(), len(c.Rows), strings.Join(c.Modes, " and "))
	if err != nil {
		return fmt.Errorf("writing comparison totals: %w", err)
	}
	return nil
}
