//go:build e2e

package e2e

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/reports"
)

// breakage is one way to break svccheck's proxy on purpose (svccheck run
// --break) and the specs that must catch it.
type breakage struct {
	// name is the --break value.
	name string
	// filter selects every spec that could detect the breakage: every
	// spec making a Service the broken rules treat differently. Empty
	// selects every spec. Only these run against the broken proxy, to
	// keep the test short; the ones left out cannot fail by it.
	filter string
	// catches reports whether a spec checks the broken behaviour: among
	// the selected specs exactly these must fail, the others pass.
	catches func(sr types.SpecReport) bool
	// named lists, for a breakage whose catching specs are named rather
	// than labelled, the full texts catches accepts; each must exist.
	named []string
}

// etpLocalChecks are the specs that check what externalTrafficPolicy Local
// does to traffic: only the node with an endpoint answers, the source is
// kept. The health check node port spec is not one: the proxy's health
// server answers it, not its rules.
var etpLocalChecks = []string{
	"externalTrafficPolicy Local lets the backend see the client's own address",
	"externalTrafficPolicy Local does not answer on a node without a local endpoint",
	"From outside the cluster reaches an externalTrafficPolicy Local Service only on the node with its endpoint, the backend seeing the client's own address",
	"Rules agree with packets sends externalTrafficPolicy Local connections only where each node's rules say",
	"externalTrafficPolicy changes follows switches between Cluster and Local on a live Service, allocating and releasing the health check node port",
	// A ready backend on another node must never answer.
	"Terminating endpoints fall back to serving terminating endpoints when none is ready with externalTrafficPolicy Local, local ones only",
}

// terminatingChecks are the specs that need traffic to reach a serving
// terminating endpoint when none is ready: the four fallback specs, and
// the health check spec, which probes its only backend while it
// terminates. publishNotReadyAddresses marks its endpoints ready, and the
// eviction spec waits for no endpoints at all: neither can tell.
var terminatingChecks = []string{
	"Terminating endpoints fall back to serving terminating endpoints when none is ready with internalTrafficPolicy Cluster",
	"Terminating endpoints fall back to serving terminating endpoints when none is ready with internalTrafficPolicy Local, local ones only",
	"Terminating endpoints fall back to serving terminating endpoints when none is ready with externalTrafficPolicy Cluster",
	"Terminating endpoints fall back to serving terminating endpoints when none is ready with externalTrafficPolicy Local, local ones only",
	"Terminating endpoints make the health check node port answer 503 on a node that has only them",
}

// rejectChecks are the specs that tell a rejected connection from a
// dropped one. The eviction spec is one since it waits for the deleted
// pods' addresses to be gone: before, a dying pod refused the connections
// the proxy still sent it, whatever the proxy did once it synced.
var rejectChecks = []string{
	"ClusterIP rejects connections to a Service with no ready endpoints",
	"Service labels the proxy honours ignores an EndpointSlice labelled service.kubernetes.io/headless until the label goes",
	"Terminating endpoints reach an unready and a terminating pod only with publishNotReadyAddresses",
	"Terminating endpoints leave a Service whose pods were evicted and deleted with no endpoints, which rejects",
}

// breakages are the breakages the test checks, each in a run of its own.
var breakages = []breakage{
	// Only Services with ClientIP affinity get recent rules, and every
	// Affinity spec checks stickiness.
	{name: "affinity", filter: "Affinity", catches: labelled("Affinity")},
	// Only Services with terminating endpoints and none ready are
	// changed; the Terminating specs make them.
	{name: "terminating", filter: "Terminating", catches: textIn(terminatingChecks), named: terminatingChecks},
	// Only Services with externalTrafficPolicy Local are changed: the
	// ETPLocal specs, and the Terminating ones, some of which use it.
	{name: "etplocal", filter: "ETPLocal || Terminating", catches: textIn(etpLocalChecks), named: etpLocalChecks},
	// Any spec may leave a Service without endpoints: all of them run.
	{name: "reject", catches: textIn(rejectChecks), named: rejectChecks},
}

func labelled(label string) func(types.SpecReport) bool {
	return func(sr types.SpecReport) bool { return slices.Contains(sr.Labels(), label) }
}

func textIn(texts []string) func(types.SpecReport) bool {
	return func(sr types.SpecReport) bool { return slices.Contains(texts, sr.FullText()) }
}

// checkBreakage runs the specs b selects against the proxy broken by b, with
// --parallel 3, and checks that among the specs that passed against the
// intact proxy (intact) exactly those b catches fail.
func checkBreakage(t *testing.T, ctx context.Context, b breakage, intact types.Report) {
	selects := func(types.SpecReport) bool { return true }
	if b.filter != "" {
		f, err := types.ParseLabelFilter(b.filter)
		if err != nil {
			t.Fatalf("label filter %q: %v", b.filter, err)
		}
		selects = func(sr types.SpecReport) bool { return f(sr.Labels()) }
	}
	want := map[string]bool{} // spec text -> must fail
	for _, sr := range leaves(intact) {
		if selects(sr) && sr.State == types.SpecStatePassed {
			want[sr.FullText()] = b.catches(sr)
		}
	}
	for _, text := range b.named {
		if _, ok := want[text]; !ok {
			t.Errorf("spec %q, named as catching --break %s, did not pass against the intact proxy or is not selected by %q", text, b.name, b.filter)
		}
	}
	if !slices.Contains(slices.Collect(maps.Values(want)), true) {
		t.Skipf("no spec that passed against the intact proxy catches --break %s (filter %q)", b.name, b.filter)
	}

	dir := outputDir(t, "broken-"+b.name)
	args := []string{"run", "--proxy", "svccheck", "--name", name, "--reuse", "--break", b.name, "--parallel", "3", "--output", dir}
	if b.filter != "" {
		args = append(args, "--label-filter", b.filter)
	}
	if code := run(t, ctx, args...); code != 1 {
		t.Errorf("svccheck run --break %s exited %d, want 1", b.name, code)
	}
	checkLayout(t, dir)
	for i := 1; i <= 3; i++ {
		if _, err := os.Stat(filepath.Join(dir, reports.DirParallel, strconv.Itoa(i), reports.FileRunLog)); err != nil {
			t.Errorf("parallel run %d: %v", i, err)
		}
	}
	report := readReport(t, dir)
	if got, all := specTexts(report), specTexts(intact); !slices.Equal(got, all) {
		t.Errorf("the parallel run reported specs\n%s\nwant the intact run's\n%s", strings.Join(got, "\n"), strings.Join(all, "\n"))
	}
	failed := 0
	for _, sr := range leaves(report) {
		mustFail, checked := want[sr.FullText()]
		switch {
		case !checked && sr.State != types.SpecStateSkipped && !selects(sr):
			t.Errorf("spec %q is %s against --break %s, but the filter %q leaves it out", sr.FullText(), sr.State, b.name, b.filter)
		case !checked:
		case mustFail && sr.State != types.SpecStateFailed:
			t.Errorf("spec %q checks what --break %s breaks, but is %s, want failed", sr.FullText(), b.name, sr.State)
		case !mustFail && sr.State != types.SpecStatePassed:
			t.Errorf("spec %q is %s against --break %s, want passed: it does not check what the breakage breaks", sr.FullText(), sr.State, b.name)
		}
		if checked && sr.State == types.SpecStateFailed {
			failed++
		}
	}
	t.Logf("--break %s: %d of %d checked specs failed, as they must", b.name, failed, len(want))
	if b.name == htmlBreakage {
		checkReportHTML(t, ctx, dir)
	}
	if b.name == "affinity" {
		checkNoAffinityRules(t, dir)
	}
}

// leaves returns the It specs of report.
func leaves(report types.Report) []types.SpecReport {
	var out []types.SpecReport
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt {
			out = append(out, sr)
		}
	}
	return out
}
