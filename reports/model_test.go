package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/proxy"
)

func TestFromGinkgo(t *testing.T) {
	got := FromGinkgo(fixtureReport(), fixtureMeta)
	want := Results{
		Meta: Metadata{
			Proxy: proxy.Proxy{Mode: proxy.Svccheck}, ClusterName: "svcchk-test", NodeImage: "svccheck.local/node:v1.34.0",
			KubernetesVersion: "v1.34.0", Start: t0, End: t0.Add(3*time.Minute + 12*time.Second),
		},
		Specs: []Spec{
			{Suite: "ClusterIP", Text: "reaches every backend", Labels: []string{"ClusterIP", "TCP"}, Result: ResultPassed,
				Duration: 12340 * time.Millisecond, Nodes: []string{"kind-worker", "kind-worker2"}, GinkgoText: "ClusterIP reaches every backend"},
			{Suite: "Affinity", Text: "sticks to one backend with ClientIP | pipes", Labels: []string{"Affinity"}, Result: ResultFailed,
				Duration: 31 * time.Second, Nodes: []string{"kind-worker"},
				Failure: &Failure{Message: "Expected\n    <int>: 3\nto equal\n    <int>: 1\n```", Location: "/src/suites/specs/Affinity.go:42"},
				Dumps: []string{"nodes/kind-control-plane/failures/affinity-sticks-to-one-backend-with-clientip-pipes",
					"nodes/kind-worker/failures/affinity-sticks-to-one-backend-with-clientip-pipes"},
				GinkgoText: "Affinity sticks to one backend with ClientIP | pipes"},
			{Suite: "NodePort", Text: "is reachable on every node", Labels: []string{"NodePort", "Slow"}, Result: ResultSkipped,
				GinkgoText: "NodePort is reachable on every node"},
			{Suite: "Headless", Text: "returns one A record per pod", Labels: []string{"Headless"}, Result: ResultPending,
				GinkgoText: "Headless returns one A record per pod"},
			{Suite: "ETPLocal", Text: "preserves the client address", Labels: []string{"ETPLocal"}, Result: ResultTimedOut,
				Duration: 2 * time.Minute, Failure: &Failure{Message: "timed out", Location: "/src/suites/specs/ETPLocal.go:77"},
				GinkgoText: "ETPLocal preserves the client address"},
			{Suite: "svccheck", Text: "[AfterSuite]", Result: ResultFailed, Duration: 300 * time.Millisecond,
				Failure: &Failure{Message: "deleting namespaces: boom", Location: "/src/suites/suite.go:5"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromGinkgo() mismatch (-want +got):\n%s", diff)
	}
	wantTotals := Totals{Total: 6, Passed: 1, Failed: 3, Skipped: 1, Pending: 1}
	if diff := cmp.Diff(wantTotals, got.Totals()); diff != "" {
		t.Errorf("Totals() mismatch (-want +got):\n%s", diff)
	}
	if got.Passed() {
		t.Errorf("Passed() = true with failed specs")
	}
}

func TestFromGinkgoInterrupted(t *testing.T) {
	tests := []struct {
		name            string
		reasons         []string
		states          []types.SpecState
		wantInterrupted string
		wantVerdict     string
		wantPassed      bool
	}{
		{name: "complete, all passed", states: []types.SpecState{types.SpecStatePassed},
			wantVerdict: VerdictPassed, wantPassed: true},
		{name: "complete, a spec failed", states: []types.SpecState{types.SpecStatePassed, types.SpecStateFailed},
			wantVerdict: VerdictFailed},
		{name: "Ctrl-C between specs", reasons: []string{"Interrupted by User"},
			states:          []types.SpecState{types.SpecStatePassed, types.SpecStateSkipped},
			wantInterrupted: "Interrupted by User", wantVerdict: VerdictInterrupted},
		{name: "Ctrl-C during a spec", reasons: []string{"Interrupted by User"},
			states:          []types.SpecState{types.SpecStateInterrupted, types.SpecStateSkipped},
			wantInterrupted: "Interrupted by User", wantVerdict: VerdictInterrupted},
		{name: "suite timeout", reasons: []string{"Suite Timeout Elapsed"},
			states:          []types.SpecState{types.SpecStatePassed, types.SpecStateSkipped},
			wantInterrupted: "Suite Timeout Elapsed", wantVerdict: VerdictInterrupted},
		{name: "other reasons do not interrupt", reasons: []string{"Detected pending specs and --fail-on-pending is set"},
			states: []types.SpecState{types.SpecStatePassed}, wantVerdict: VerdictPassed, wantPassed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report := types.Report{SuiteDescription: "svccheck", SpecialSuiteFailureReasons: tt.reasons}
			for i, st := range tt.states {
				report.SpecReports = append(report.SpecReports, it("ClusterIP", fmt.Sprintf("spec %d", i), st, time.Second, nil))
			}
			got := FromGinkgo(report, Metadata{})
			if got.Interrupted != tt.wantInterrupted {
				t.Errorf("Interrupted = %q, want %q", got.Interrupted, tt.wantInterrupted)
			}
			if v := got.Verdict(); v != tt.wantVerdict {
				t.Errorf("Verdict() = %q, want %q", v, tt.wantVerdict)
			}
			if p := got.Passed(); p != tt.wantPassed {
				t.Errorf("Passed() = %t, want %t", p, tt.wantPassed)
			}
			if interrupted := strings.HasPrefix(StatusLine(got), VerdictInterrupted+" ("+tt.wantInterrupted+"): "); interrupted != (tt.wantInterrupted != "") {
				t.Errorf("StatusLine() = %q, want it led by INTERRUPTED exactly when interrupted", StatusLine(got))
			}
		})
	}
}

// TestFromGinkgoAfterJSON checks that the report entries read back the same
// from a report.json as from the in-process report.
func TestFromGinkgoAfterJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureReport()); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	var decoded []types.Report
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil {
		t.Fatalf("decoding report.json: %v", err)
	}
	if len(decoded) != 1 {
		t.Fatalf("report.json holds %d reports, want 1", len(decoded))
	}
	want := FromGinkgo(fixtureReport(), fixtureMeta)
	got := FromGinkgo(decoded[0], fixtureMeta)
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("results after a JSON round trip differ (-want +got):\n%s", diff)
	}
}

func TestEntryValueFormats(t *testing.T) {
	tests := []struct {
		name  string
		value types.ReportEntryValue
		want  []string
	}{
		{"Nodes", types.WrapEntryValue(Nodes{"a", "b"}), []string{"a", "b"}},
		{"string slice", types.WrapEntryValue([]string{"a"}), []string{"a"}},
		{"comma string", types.WrapEntryValue("a, b ,c"), []string{"a", "b", "c"}},
		{"representation only", types.ReportEntryValue{Representation: "x, y"}, []string{"x", "y"}},
		{"empty", types.WrapEntryValue(Nodes{}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, valueList(tt.value)); diff != "" {
				t.Errorf("valueList() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLastEntryWins(t *testing.T) {
	entries := types.ReportEntries{entry(NodesEntry, Nodes{"a"}), entry("other", "z"), entry(NodesEntry, Nodes{"b", "c"})}
	if diff := cmp.Diff([]string{"b", "c"}, entryList(entries, NodesEntry)); diff != "" {
		t.Errorf("entryList() mismatch (-want +got):\n%s", diff)
	}
}

func TestAddDumps(t *testing.T) {
	res := FromGinkgo(fixtureReport(), fixtureMeta)
	res.AddDumps(map[string][]string{
		"etplocal-preserves-the-client-address":              {"nodes/n1/failures/etplocal-preserves-the-client-address"},
		"affinity-sticks-to-one-backend-with-clientip-pipes": {"nodes/other/failures/x"},
		"clusterip-reaches-every-backend":                    {"nodes/n1/failures/clusterip-reaches-every-backend"},
	})
	byText := map[string][]string{}
	for _, s := range res.Specs {
		byText[s.Suite] = s.Dumps
	}
	want := map[string][]string{
		"ClusterIP": nil, // passed: no dumps linked
		"Affinity": {"nodes/kind-control-plane/failures/affinity-sticks-to-one-backend-with-clientip-pipes",
			"nodes/kind-worker/failures/affinity-sticks-to-one-backend-with-clientip-pipes"}, // recorded entry kept
		"NodePort": nil,
		"Headless": nil,
		"ETPLocal": {"nodes/n1/failures/etplocal-preserves-the-client-address"},
		"svccheck": {},
	}
	if diff := cmp.Diff(want, byText, cmp.Comparer(func(a, b []string) bool { return cmp.Equal(nonNil(a), nonNil(b)) })); diff != "" {
		t.Errorf("dumps after AddDumps (-want +got):\n%s", diff)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestSlugFollowsGinkgoText checks that a spec without containers (its
// suite taken from a label) is slugged like the spec names its dumps:
// after Ginkgo's full text, not the suite column.
func TestSlugFollowsGinkgoText(t *testing.T) {
	sr := types.SpecReport{
		LeafNodeType:   types.NodeTypeIt,
		LeafNodeText:   "top-level spec",
		LeafNodeLabels: []string{"NodePort"},
		State:          types.SpecStateFailed,
	}
	res := FromGinkgo(types.Report{SpecReports: types.SpecReports{sr}}, Metadata{})
	s := res.Specs[0]
	if s.Suite != "NodePort" || s.Text != "top-level spec" {
		t.Errorf("suite %q text %q, want NodePort and the spec text", s.Suite, s.Text)
	}
	if got, want := s.Slug(), Slug(sr.FullText()); got != want {
		t.Errorf("Slug() = %q, want %q (Slug of Ginkgo's full text)", got, want)
	}
	res.AddDumps(map[string][]string{"top-level-spec": {"nodes/n/failures/top-level-spec"}})
	if diff := cmp.Diff([]string{"nodes/n/failures/top-level-spec"}, res.Specs[0].Dumps); diff != "" {
		t.Errorf("AddDumps mismatch (-want +got):\n%s", diff)
	}
}

// TestSummaryShowsTheProxyUnderTest: summary.md names the proxy with what
// the run broke of it on purpose, and how it was found.
func TestSummaryShowsTheProxyUnderTest(t *testing.T) {
	res := Results{Meta: Metadata{Proxy: proxy.Proxy{Mode: proxy.Svccheck, Source: "created by svccheck with --proxy svccheck",
		Broken: []string{"affinity", "reject"}}}}
	var b strings.Builder
	if err := WriteSummary(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Proxy mode | svccheck (broken: affinity,reject) |",
		"| Proxy found by | created by svccheck with --proxy svccheck |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, b.String())
		}
	}
	if c := Compare(res, Results{Meta: Metadata{Proxy: proxy.Proxy{Mode: proxy.KubeProxy}}}); !slices.Equal(c.Modes, []string{"svccheck (broken: affinity,reject)", "kube-proxy"}) {
		t.Errorf("comparison columns %q", c.Modes)
	}
}
