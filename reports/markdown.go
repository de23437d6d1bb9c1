package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteSummary writes summary.md: the run's metadata and totals, a table of
// every spec and, for each failing spec, a section with its message,
// location and links to its failure-time node dumps. The output depends
// only on r.
func WriteSummary(w io.Writer, r Results) error {
	bw := bufio.NewWriter(w)
	writeMeta(bw, r)
	writeSpecTable(bw, r)
	writeFailures(bw, r)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	return nil
}

func writeMeta(w io.Writer, r Results) {
	t := r.Totals()
	fmt.Fprintf(w, "# svccheck results: %s\n\n", r.Verdict())
	if r.Interrupted != "" {
		fmt.Fprintf(w, "The run was interrupted (%s): the specs it had not reached are skipped.\n\n", inline(r.Interrupted))
	}
	fmt.Fprintf(w, "| Run | |\n|---|---|\n")
	m := r.Meta
	rows := [][2]string{
		{"Proxy mode", m.Proxy.String()},
		{"Cluster", m.ClusterName},
		{"Node image", m.NodeImage},
		{"Kubernetes version", m.KubernetesVersion},
		{"Start", formatTime(m.Start)},
		{"End", formatTime(m.End)},
		{"Duration", formatRunTime(m.Start, m.End)},
		{"Specs", TotalsLine(t)},
	}
	// Rows only some runs have come after the others, when set.
	for _, row := range [][2]string{{"Proxy found by", m.Proxy.Source}, {"Run id", m.RunID}} {
		if row[1] != "" {
			rows = append(rows, row)
		}
	}
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %s |\n", row[0], cell(orUnknown(row[1])))
	}
	fmt.Fprintln(w)
}

func writeSpecTable(w io.Writer, r Results) {
	fmt.Fprintf(w, "## Specs\n\n")
	if len(r.Specs) == 0 {
		fmt.Fprintf(w, "No specs ran.\n\n")
		return
	}
	fmt.Fprintf(w, "| Suite | Spec | Labels | Result | Duration | Nodes |\n|---|---|---|---|---|---|\n")
	for _, s := range r.Specs {
		result := string(s.Result)
		if s.Result.Failed() {
			result = fmt.Sprintf("**%s** ([details](#%s))", s.Result, s.Slug())
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", cell(s.Suite), cell(s.Text), cell(strings.Join(s.Labels, ", ")), result,
			FormatDuration(s.Duration), cell(strings.Join(s.Nodes, ", ")))
	}
	fmt.Fprintln(w)
}

func writeFailures(w io.Writer, r Results) {
	var failed []Spec
	for _, s := range r.Specs {
		if s.Result.Failed() {
			failed = append(failed, s)
		}
	}
	if len(failed) == 0 {
		return
	}
	fmt.Fprintf(w, "## Failures\n")
	for _, s := range failed {
		// The explicit anchor keeps the spec table's links stable whatever
		// the Markdown renderer's own heading ids are.
		fmt.Fprintf(w, "\n<a id=\"%s\"></a>\n### %s\n\n", s.Slug(), inline(s.FullText()))
		fmt.Fprintf(w, "- Result: %s\n", s.Result)
		if s.Failure != nil && s.Failure.Location != "" {
			fmt.Fprintf(w, "- Location: `%s`\n", s.Failure.Location)
		}
		fmt.Fprintf(w, "- Nodes: %s\n", orNone(inline(strings.Join(s.Nodes, ", "))))
		fmt.Fprintf(w, "- Node dumps: %s\n", dumpLinks(s.Dumps))
		if s.Failure != nil && s.Failure.Message != "" {
			fence := codeFence(s.Failure.Message)
			fmt.Fprintf(w, "\n%s\n%s\n%s\n", fence, s.Failure.Message, fence)
		}
	}
}

func dumpLinks(dirs []string) string {
	if len(dirs) == 0 {
		return "none recorded"
	}
	links := make([]string, len(dirs))
	for i, d := range dirs {
		d = strings.TrimSuffix(d, "/") + "/"
		links[i] = fmt.Sprintf("[%s](%s)", d, d)
	}
	return strings.Join(links, ", ")
}

// TotalsLine renders t as "N specs: P passed, F failed, S skipped, X pending".
func TotalsLine(t Totals) string {
	return fmt.Sprintf("%d specs: %d passed, %d failed, %d skipped, %d pending",
		t.Total, t.Passed, t.Failed, t.Skipped, t.Pending)
}

// StatusLine is TotalsLine of r's totals, led by "INTERRUPTED (reason): "
// when the run was cut short, so a run that stopped early never reads as
// complete.
func StatusLine(r Results) string {
	line := TotalsLine(r.Totals())
	if r.Interrupted != "" {
		line = fmt.Sprintf("%s (%s): %s", VerdictInterrupted, inline(r.Interrupted), line)
	}
	return line
}

// FormatDuration rounds d for people: tenths of a second above one second,
// milliseconds below.
func FormatDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func formatRunTime(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return ""
	}
	return FormatDuration(end.Sub(start))
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(inline(s), "|", "\\|")
}

// inline folds s onto one line.
func inline(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// codeFence returns a backtick fence longer than any backtick run in s.
func codeFence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none recorded"
	}
	return s
}

// WriteComparisonMarkdown writes c as Markdown (comparison.md of a
// --compare run): one column per proxy mode, disagreeing rows marked, and
// the count of disagreements.
func WriteComparisonMarkdown(w io.Writer, c Comparison) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# svccheck comparison: %s\n\n", strings.Join(c.Modes, " vs "))
	fmt.Fprintf(bw, "%d of %d specs differ.\n\n", c.Disagreements(), len(c.Rows))
	if len(c.Rows) > 0 {
		fmt.Fprintf(bw, "| Suite | Spec |")
		for _, m := range c.Modes {
			fmt.Fprintf(bw, " %s |", cell(m))
		}
		fmt.Fprintf(bw, " Agree |\n|---|---|%s---|\n", strings.Repeat("---|", len(c.Modes)))
		for _, row := range c.Rows {
			fmt.Fprintf(bw, "| %s | %s |", cell(row.Suite), cell(row.Text))
			for _, r := range row.Results {
				fmt.Fprintf(bw, " %s |", r)
			}
			mark := "yes"
			if row.Differs {
				mark = "**DIFFERS**"
			}
			fmt.Fprintf(bw, " %s |\n", mark)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	return nil
}
