package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/proxy"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("updating %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run with -update to create it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestWriteSummary(t *testing.T) {
	tests := []struct {
		name string
		res  Results
	}{
		{"summary.md", FromGinkgo(fixtureReport(), fixtureMeta)},
		{"summary-passed.md", Results{Meta: Metadata{Proxy: proxy.Proxy{Mode: proxy.KubeProxy}, Start: t0, End: t0.Add(time.Minute)},
			Specs: []Spec{{Suite: "ClusterIP", Text: "works", Result: ResultPassed, Duration: 900 * time.Millisecond}}}},
		{"summary-empty.md", Results{}},
		{"summary-interrupted.md", FromGinkgo(interruptedReport(), fixtureMeta)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSummary(&buf, tt.res); err != nil {
				t.Fatalf("WriteSummary: %v", err)
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
}

func TestWriteTable(t *testing.T) {
	tests := []struct {
		name   string
		report types.Report
	}{
		{"table.txt", fixtureReport()},
		{"table-interrupted.txt", interruptedReport()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteTable(&buf, FromGinkgo(tt.report, fixtureMeta)); err != nil {
				t.Fatalf("WriteTable: %v", err)
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
}

func comparisonRuns() (Results, Results) {
	a := FromGinkgo(fixtureReport(), fixtureMeta)
	b := FromGinkgo(fixtureReport(), Metadata{Proxy: proxy.Proxy{Mode: proxy.KubeProxy}})
	// kube-proxy passes the affinity spec, lacks the headless one and has
	// one spec svccheck's run lacks.
	b.Specs[1].Result, b.Specs[1].Failure = ResultPassed, nil
	b.Specs = append(b.Specs[:3], b.Specs[4:]...)
	b.Specs = append(b.Specs, Spec{Suite: "ClusterIP", Text: "only here", Result: ResultPassed})
	return a, b
}

func TestCompare(t *testing.T) {
	a, b := comparisonRuns()
	c := Compare(a, b)
	if diff := cmp.Diff([]string{"svccheck", "kube-proxy"}, c.Modes); diff != "" {
		t.Errorf("Modes mismatch (-want +got):\n%s", diff)
	}
	type row struct {
		Key     string
		Results []Result
		Differs bool
	}
	var got []row
	for _, r := range c.Rows {
		got = append(got, row{r.Suite + " " + r.Text, r.Results, r.Differs})
	}
	want := []row{
		{"ClusterIP reaches every backend", []Result{ResultPassed, ResultPassed}, false},
		{"Affinity sticks to one backend with ClientIP | pipes", []Result{ResultFailed, ResultPassed}, true},
		{"NodePort is reachable on every node", []Result{ResultSkipped, ResultSkipped}, false},
		{"Headless returns one A record per pod", []Result{ResultPending, ResultMissing}, true},
		{"ETPLocal preserves the client address", []Result{ResultTimedOut, ResultTimedOut}, false},
		{"svccheck [AfterSuite]", []Result{ResultFailed, ResultFailed}, false},
		{"ClusterIP only here", []Result{ResultMissing, ResultPassed}, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Compare rows mismatch (-want +got):\n%s", diff)
	}
	if n := c.Disagreements(); n != 3 {
		t.Errorf("Disagreements() = %d, want 3", n)
	}
	if c := Compare(Results{}, Results{}); len(c.Rows) != 0 || c.Modes[0] != "run 1" || c.Modes[1] != "run 2" {
		t.Errorf("Compare of empty runs = %+v, want no rows and modes run 1, run 2", c)
	}
}

func TestWriteComparison(t *testing.T) {
	a, b := comparisonRuns()
	var buf bytes.Buffer
	if err := WriteComparison(&buf, Compare(a, b)); err != nil {
		t.Fatalf("WriteComparison: %v", err)
	}
	golden(t, "comparison.txt", buf.Bytes())
	buf.Reset()
	if err := WriteComparisonMarkdown(&buf, Compare(a, b)); err != nil {
		t.Fatalf("WriteComparisonMarkdown: %v", err)
	}
	golden(t, "comparison.md", buf.Bytes())
}

func TestWriteComparisonFile(t *testing.T) {
	a, b := comparisonRuns()
	c := Compare(a, b)
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteComparisonFile(dir, c); err != nil {
		t.Fatalf("WriteComparisonFile: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, FileComparison))
	if err != nil {
		t.Fatalf("reading %s: %v", FileComparison, err)
	}
	golden(t, "comparison.md", got)
}

// junitSuites is the part of a JUnit document the test checks.
type junitSuites struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Status  string `xml:"status,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestWriteJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, fixtureReport()); err != nil {
		t.Fatalf("WriteJUnit: %v", err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("parsing junit.xml: %v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("junit.xml has %d suites, want 1", len(doc.Suites))
	}
	statuses := map[string]int{}
	failureMessages := 0
	for _, c := range doc.Suites[0].Cases {
		statuses[c.Status]++
		if c.Failure != nil && c.Failure.Message != "" {
			failureMessages++
		}
	}
	// Ginkgo's JUnit reporter reports every spec report, the passing
	// BeforeSuite included.
	wantStatuses := map[string]int{"passed": 2, "failed": 2, "skipped": 1, "pending": 1, "timedout": 1}
	if diff := cmp.Diff(wantStatuses, statuses); diff != "" {
		t.Errorf("junit statuses mismatch (-want +got):\n%s", diff)
	}
	if failureMessages != 3 {
		t.Errorf("junit has %d failure messages, want 3", failureMessages)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	report := fixtureReport()
	res := FromGinkgo(report, fixtureMeta)
	if err := WriteFiles(dir, report, res); err != nil {
		t.Fatalf("WriteFiles: %v", err)
	}
	var summary bytes.Buffer
	if err := WriteSummary(&summary, res); err != nil {
		t.Fatalf("WriteSummary: %v", err)
	}
	for name, check := range map[string]func([]byte) error{
		FileSummary: func(b []byte) error {
			if !bytes.Equal(b, summary.Bytes()) {
				return errorf("differs from WriteSummary")
			}
			return nil
		},
		FileJUnit: func(b []byte) error { return xml.Unmarshal(b, &junitSuites{}) },
		FileJSON: func(b []byte) error {
			var r []types.Report
			return jsonUnmarshal(b, &r)
		},
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("reading %s: %v", name, err)
			continue
		}
		if err := check(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

type testError string

func (e testError) Error() string { return string(e) }

func errorf(s string) error { return testError(s) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
