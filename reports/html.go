package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// FileHTML is the browsable report: one self-contained HTML file.
const FileHTML = "report.html"

// Finding is one diagnosis report.html lists (svccheck doctor's).
type Finding struct {
	// ID is the finding's stable identifier.
	ID string `json:"id"`
	// Severity is error, warning or info.
	Severity string `json:"severity"`
	// Title says what was found.
	Title string `json:"title"`
	// Evidence is the object, or the dump file and line, that shows it.
	Evidence string `json:"evidence"`
	// Advice says what to do.
	Advice string `json:"advice"`
}

// HTMLReport is what report.html shows.
type HTMLReport struct {
	// Results are the run's results; Specs may be empty (svccheck dump).
	Results Results
	// Title heads the page; default "svccheck results".
	Title string
	// Findings are doctor's findings, if it ran.
	Findings []Finding
	// DoctorRan says doctor ran (so no Findings means none found).
	DoctorRan bool
	// Traces holds, per failed spec (its Slug), the explain trace of its
	// Service from its client's node, as text.
	Traces map[string]string
	// Comparison is set for the report of a --compare run.
	Comparison *Comparison
	// Runs links, in a --compare report, each proxy mode to its own
	// report.html, relative to the comparison's directory.
	Runs map[string]string
	// Nodes are the nodes' tables after the run.
	Nodes []NodeTables
	// FailureNodes holds, per failed spec (its Slug), the tables of its
	// failure-time dumps.
	FailureNodes map[string][]NodeTables
}

//go:embed assets/report.html.tmpl
var htmlTemplate string

//go:embed assets/report.css
var htmlCSS string

//go:embed assets/report.js
var htmlJS string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"anchor":    anchor,
	"css":       func() template.CSS { return template.CSS(htmlCSS) },
	"js":        func() template.JS { return template.JS(htmlJS) },
	"duration":  FormatDuration,
	"join":      strings.Join,
	"totals":    TotalsLine,
	"time":      formatTime,
	"runtime":   formatRunTime,
	"failed":    func(r Result) bool { return r.Failed() },
	"labels":    func(s Spec) string { return strings.Join(s.Labels, " ") },
	"suites":    suitesOf,
	"alllabels": labelsOf,
}).Parse(htmlTemplate))

// anchor makes an HTML id from parts joined by '.': ASCII letters, digits
// and '-' stay, every other byte becomes _xx (its hex), so distinct parts
// give distinct ids.
func anchor(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		for _, c := range []byte(p) {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, "_%02x", c)
			}
		}
	}
	return b.String()
}

func suitesOf(specs []Spec) []string {
	var out []string
	for _, s := range specs {
		if !slices.Contains(out, s.Suite) {
			out = append(out, s.Suite)
		}
	}
	return out
}

func labelsOf(specs []Spec) []string {
	var out []string
	for _, s := range specs {
		for _, l := range s.Labels {
			if !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	slices.Sort(out)
	return out
}

// WriteHTML writes r as one self-contained HTML page: no script, style,
// font or image is fetched from anywhere.
func WriteHTML(w io.Writer, r HTMLReport) error {
	if r.Title == "" {
		r.Title = "svccheck results"
	}
	if err := reportTemplate.Execute(w, r); err != nil {
		return fmt.Errorf("writing %s: %w", FileHTML, err)
	}
	return nil
}

// WriteHTMLFile writes r as report.html in dir, whole or not at all.
func WriteHTMLFile(dir string, r HTMLReport) error {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		return err
	}
	return WriteBytesAtomic(filepath.Join(dir, FileHTML), buf.Bytes(), 0o644)
}

// ReadHTMLDumps fills r's Nodes and FailureNodes from the node dumps in
// the output directory dir (its nodes/ directory) and res's failure dumps.
func (r *HTMLReport) ReadHTMLDumps(dir string) error {
	entries, err := os.ReadDir(filepath.Join(dir, DirNodes))
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading node dumps: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if nt := ReadNodeTables(dir, NodeDir(e.Name()), e.Name()); len(nt.Tables) > 0 {
			r.Nodes = append(r.Nodes, nt)
		}
	}
	for _, s := range r.Results.Specs {
		if !s.Result.Failed() {
			continue
		}
		for _, d := range s.Dumps {
			node := dumpNode(d)
			if nt := ReadNodeTables(dir, d, node); len(nt.Tables) > 0 {
				if r.FailureNodes == nil {
					r.FailureNodes = map[string][]NodeTables{}
				}
				r.FailureNodes[s.Slug()] = append(r.FailureNodes[s.Slug()], nt)
			}
		}
	}
	return nil
}

// dumpNode returns the node of a failure dump directory
// nodes/<node>/failures/<slug>.
func dumpNode(dir string) string {
	parts := strings.Split(path.Clean(filepath.ToSlash(dir)), "/")
	if len(parts) >= 2 && parts[0] == DirNodes {
		return parts[1]
	}
	return dir
}

// ResultStates are the results r's specs have, passed first, for the
// page's result filter.
func (r HTMLReport) ResultStates() []Result {
	var out []Result
	for _, want := range []Result{ResultPassed, ResultFailed, ResultSkipped, ResultPending, ResultInterrupted, ResultAborted, ResultPanicked, ResultTimedOut} {
		if slices.ContainsFunc(r.Results.Specs, func(s Spec) bool { return s.Result == want }) {
			out = append(out, want)
		}
	}
	for _, s := range r.Results.Specs {
		if !slices.Contains(out, s.Result) {
			out = append(out, s.Result)
		}
	}
	return out
}
