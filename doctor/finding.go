package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Severity ranks a finding.
type Severity string

// Severities, from worst to mildest. Errors and warnings fail doctor.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// Finding is one thing doctor found.
type Finding struct {
	// ID is the check's stable ID (see Checks).
	ID string `json:"id"`
	// Severity is error, warning or info.
	Severity Severity `json:"severity"`
	// Node is the node the finding is about; empty for the cluster.
	Node string `json:"node,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Evidence lists where it shows: "file:line: text" of the dump
	// (relative to the dump directory), or an object.
	Evidence []string `json:"evidence,omitempty"`
	// Action says what to do.
	Action string `json:"action"`
}

// Report is the outcome of doctor on one dump.
type Report struct {
	// Dump is the dump directory checked.
	Dump string `json:"dump"`
	// ProxyMode is the cluster's Service proxy as the dump records it.
	ProxyMode string `json:"proxyMode"`
	// Nodes lists the nodes checked.
	Nodes []string `json:"nodes"`
	// Findings are sorted by severity, ID, node.
	Findings []Finding `json:"findings"`
}

// Failed reports whether any finding is a warning or an error.
func (r Report) Failed() bool {
	for _, f := range r.Findings {
		if f.Severity != SeverityInfo {
			return true
		}
	}
	return false
}

// Count returns how many findings have severity s.
func (r Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Summary is a one-line count of the findings.
func (r Report) Summary() string {
	return fmt.Sprintf("%d errors, %d warnings, %d notes on %d nodes (proxy %s)",
		r.Count(SeverityError), r.Count(SeverityWarning), r.Count(SeverityInfo), len(r.Nodes), r.ProxyMode)
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity.rank() != b.Severity.rank() {
			return a.Severity.rank() < b.Severity.rank()
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Node < b.Node
	})
}

// WriteText writes the report for a terminal.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	for _, f := range r.Findings {
		where := "cluster"
		if f.Node != "" {
			where = "node " + f.Node
		}
		fmt.Fprintf(&b, "%s %-7s %s: %s\n", f.ID, f.Severity, where, f.Message)
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "    evidence: %s\n", e)
		}
		fmt.Fprintf(&b, "    do: %s\n", f.Action)
	}
	fmt.Fprintf(&b, "doctor: %s\n", r.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r Report) error {
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report as a Markdown section, for summary.md.
func WriteMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Doctor\n\n%s.\n\n", r.Summary())
	if len(r.Findings) > 0 {
		b.WriteString("| ID | Severity | Where | Finding | Evidence | Do |\n|---|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			where := f.Node
			if where == "" {
				where = "cluster"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", f.ID, f.Severity, mdCell(where), mdCell(f.Message),
				mdCell(strings.Join(f.Evidence, "; ")), mdCell(f.Action))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
