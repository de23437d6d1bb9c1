package reports

import (
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/proxy"
)

// Result is the outcome of one spec.
type Result string

// Spec outcomes, named after Ginkgo's spec states.
const (
	ResultPassed      Result = "passed"
	ResultFailed      Result = "failed"
	ResultSkipped     Result = "skipped"
	ResultPending     Result = "pending"
	ResultInterrupted Result = "interrupted"
	ResultAborted     Result = "aborted"
	ResultPanicked    Result = "panicked"
	ResultTimedOut    Result = "timedout"
	// ResultMissing marks, in a comparison, a spec that a run did not have.
	ResultMissing Result = "-"
)

// Failed reports whether r counts as a failure: failed, interrupted, aborted,
// panicked or timed out.
func (r Result) Failed() bool {
	switch r {
	case ResultFailed, ResultInterrupted, ResultAborted, ResultPanicked, ResultTimedOut:
		return true
	}
	return false
}

// Metadata describes a run.
type Metadata struct {
	// Proxy is the Service proxy under test (svccheck, kube-proxy, ...),
	// how it was found (the run created the cluster with it, or what
	// detection read: a DaemonSet, kube-proxy's ConfigMap or its
	// /proxyMode endpoint) and what of it the run broke on purpose.
	Proxy proxy.Proxy `json:"proxy"`
	// RunID is the id every object the run created is labelled with
	// (svccheck.io/run-id).
	RunID string `json:"runID,omitempty"`
	// ClusterName is the kind cluster's name, or the kubeconfig context's.
	ClusterName string `json:"clusterName"`
	// NodeImage is the kind node image.
	NodeImage string `json:"nodeImage"`
	// KubernetesVersion is the API server's version.
	KubernetesVersion string `json:"kubernetesVersion"`
	// Start and End bound the run.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Failure is where and why a spec failed.
type Failure struct {
	// Message is the failure message (Gomega's, or the panic's).
	Message string `json:"message"`
	// Location is file:line of the failure.
	Location string `json:"location"`
}

// Spec is one row of the results: one Ginkgo spec.
type Spec struct {
	// Suite is the spec's top-level container text (ClusterIP, NodePort,
	// ...), else its first label, else the Ginkgo suite description.
	Suite string `json:"suite"`
	// Text is the spec's text below the top-level container: the inner
	// container texts and the It text, joined by spaces.
	Text string `json:"text"`
	// Labels are all the spec's labels, containers' included.
	Labels []string `json:"labels,omitempty"`
	// Result is the spec's outcome.
	Result Result `json:"result"`
	// Duration is the spec's run time.
	Duration time.Duration `json:"duration"`
	// Nodes are the nodes the spec involved (its NodesEntry).
	Nodes []string `json:"nodes,omitempty"`
	// Failure is set for failed specs.
	Failure *Failure `json:"failure,omitempty"`
	// Dumps are the failure-time node dumps, relative to the output
	// directory (its DumpsEntry).
	Dumps []string `json:"dumps,omitempty"`
	// GinkgoText is the spec's full text as Ginkgo reports it (container
	// texts and It text); specs name their failure dumps after it.
	GinkgoText string `json:"ginkgoText,omitempty"`
}

// FullText is the spec's suite and text joined by a space.
func (s Spec) FullText() string {
	return strings.TrimSpace(s.Suite + " " + s.Text)
}

// key identifies the spec across runs and names its dumps: GinkgoText,
// else FullText.
func (s Spec) key() string {
	if s.GinkgoText != "" {
		return s.GinkgoText
	}
	return s.FullText()
}

// Slug is the spec's file name, used for its failure-time node dumps:
// Slug of GinkgoText (else of FullText), what a spec passes to
// diag's CollectFailure as Slug(report.FullText()).
func (s Spec) Slug() string { return Slug(s.key()) }

// Results is a run's results model.
type Results struct {
	// Meta describes the run.
	Meta Metadata `json:"meta"`
	// Specs holds one entry per spec, in the order Ginkgo ran them.
	Specs []Spec `json:"specs"`
	// Interrupted says why the run stopped before its specs ran to the end
	// (Ginkgo's reason: "Interrupted by User" after Ctrl-C, "Suite Timeout
	// Elapsed"); empty for a run that was not cut short. The specs it never
	// reached are skipped, so no spec need have failed.
	Interrupted string `json:"interrupted,omitempty"`
}

// Totals counts specs per outcome.
type Totals struct {
	Total, Passed, Failed, Skipped, Pending int
}

// Totals counts r's specs. Failed counts every Result for which Failed is
// true.
func (r Results) Totals() Totals {
	var t Totals
	for _, s := range r.Specs {
		t.Total++
		switch {
		case s.Result == ResultPassed:
			t.Passed++
		case s.Result.Failed():
			t.Failed++
		case s.Result == ResultSkipped:
			t.Skipped++
		case s.Result == ResultPending:
			t.Pending++
		}
	}
	return t
}

// Passed reports whether the run ran to the end and no spec failed.
func (r Results) Passed() bool { return r.Interrupted == "" && r.Totals().Failed == 0 }

// Verdicts of a run, as Verdict returns them.
const (
	VerdictPassed      = "PASSED"
	VerdictFailed      = "FAILED"
	VerdictInterrupted = "INTERRUPTED"
)

// Verdict is the run's outcome in one word: VerdictInterrupted when the run
// was cut short (whether or not a spec failed first), else VerdictFailed
// when a spec failed, else VerdictPassed.
func (r Results) Verdict() string {
	switch {
	case r.Interrupted != "":
		return VerdictInterrupted
	case r.Totals().Failed > 0:
		return VerdictFailed
	}
	return VerdictPassed
}

// FromGinkgo builds the results model from Ginkgo's report of a run. Only It
// specs are rows; suite-level nodes (BeforeSuite, ReportAfterSuite, ...) that
// failed become rows too, so a setup failure is never invisible. Start and End
// default to the report's times when meta leaves them zero.
func FromGinkgo(report types.Report, meta Metadata) Results {
	if meta.Start.IsZero() {
		meta.Start = report.StartTime
	}
	if meta.End.IsZero() {
		meta.End = report.EndTime
	}
	res := Results{Meta: meta, Interrupted: interruption(report.SpecialSuiteFailureReasons)}
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt && !sr.State.Is(types.SpecStateFailureStates) {
			continue
		}
		res.Specs = append(res.Specs, specFromGinkgo(report.SuiteDescription, sr))
	}
	return res
}

// Ginkgo's special suite failure reasons that mean the run was cut short:
// its interrupt handler's causes (a signal, or another parallel process) and
// the suite timeout.
const (
	ginkgoInterruptedPrefix = "Interrupted by "
	ginkgoSuiteTimeout      = "Suite Timeout Elapsed"
)

// interruption returns the reasons among Ginkgo's special suite failure
// reasons that mean the run stopped early, joined by "; ".
func interruption(reasons []string) string {
	var out []string
	for _, r := range reasons {
		if strings.HasPrefix(r, ginkgoInterruptedPrefix) || r == ginkgoSuiteTimeout {
			out = append(out, r)
		}
	}
	return strings.Join(out, "; ")
}

func specFromGinkgo(suiteDescription string, sr types.SpecReport) Spec {
	texts := append([]string(nil), sr.ContainerHierarchyTexts...)
	if sr.LeafNodeText != "" {
		texts = append(texts, sr.LeafNodeText)
	}
	labels := sr.Labels()
	if len(labels) == 0 {
		labels = nil
	}
	s := Spec{
		GinkgoText: sr.FullText(),
		Labels:     labels,
		Result:     resultOf(sr.State),
		Duration:   sr.RunTime,
		Nodes:      entryList(sr.ReportEntries, NodesEntry),
		Dumps:      entryList(sr.ReportEntries, DumpsEntry),
	}
	switch {
	case len(sr.ContainerHierarchyTexts) > 0:
		s.Suite, texts = texts[0], texts[1:]
	case len(labels) > 0:
		s.Suite = labels[0]
	case sr.LeafNodeType != types.NodeTypeIt:
		s.Suite = suiteDescription
		texts = append(texts, "["+sr.LeafNodeType.String()+"]")
	default:
		s.Suite = suiteDescription
	}
	s.Text = strings.Join(texts, " ")
	if sr.State.Is(types.SpecStateFailureStates) {
		s.Failure = &Failure{
			Message:  strings.TrimSpace(sr.Failure.Message),
			Location: sr.Failure.Location.String(),
		}
	}
	return s
}

func resultOf(state types.SpecState) Result {
	switch state {
	case types.SpecStatePassed:
		return ResultPassed
	case types.SpecStateSkipped:
		return ResultSkipped
	case types.SpecStatePending:
		return ResultPending
	case types.SpecStateFailed:
		return ResultFailed
	case types.SpecStateAborted:
		return ResultAborted
	case types.SpecStatePanicked:
		return ResultPanicked
	case types.SpecStateInterrupted:
		return ResultInterrupted
	case types.SpecStateTimedout:
		return ResultTimedOut
	}
	return Result(state.String())
}

// AddDumps sets the failure-time dump directories of failed specs that
// recorded none, from bySlug (spec slug -> directories relative to the
// output directory, as diag.FindFailureDumps returns).
func (r *Results) AddDumps(bySlug map[string][]string) {
	for i := range r.Specs {
		s := &r.Specs[i]
		if !s.Result.Failed() || len(s.Dumps) > 0 {
			continue
		}
		s.Dumps = append([]string(nil), bySlug[s.Slug()]...)
	}
}
