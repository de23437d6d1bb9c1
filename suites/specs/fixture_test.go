package specs

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/reports"
)

// recordingCollector is a FailureCollector that records its calls and
// fails them as told.
type recordingCollector struct {
	calls                []string
	failureErr, nsErr    error
	failureDirs          []string
	lastSlug, lastNSDump string
}

var _ FailureCollector = (*recordingCollector)(nil)

func (r *recordingCollector) CollectFailure(_ context.Context, specSlug string) ([]string, error) {
	r.calls = append(r.calls, "CollectFailure")
	r.lastSlug = specSlug
	return r.failureDirs, r.failureErr
}

func (r *recordingCollector) CollectNamespace(_ context.Context, namespace string) error {
	r.calls = append(r.calls, "CollectNamespace")
	r.lastNSDump = namespace
	return r.nsErr
}

func TestFixtureCollect(t *testing.T) {
	dirs := []string{"nodes/kind-worker/failures/clusterip-works"}
	tests := []struct {
		name        string
		state       types.SpecState
		collector   recordingCollector
		wantCalls   []string
		wantEntries []reportEntry
	}{
		{name: "passed: the namespace only", state: types.SpecStatePassed,
			wantCalls: []string{"CollectNamespace"}},
		{name: "failed: nodes, then the namespace", state: types.SpecStateFailed, collector: recordingCollector{failureDirs: dirs},
			wantCalls:   []string{"CollectFailure", "CollectNamespace"},
			wantEntries: []reportEntry{{reports.DumpsEntry, reports.Dumps(dirs)}}},
		{name: "interrupted counts as failed", state: types.SpecStateInterrupted, collector: recordingCollector{failureDirs: dirs},
			wantCalls:   []string{"CollectFailure", "CollectNamespace"},
			wantEntries: []reportEntry{{reports.DumpsEntry, reports.Dumps(dirs)}}},
		{name: "passed, namespace dump fails", state: types.SpecStatePassed, collector: recordingCollector{nsErr: errors.New("forbidden")},
			wantCalls:   []string{"CollectNamespace"},
			wantEntries: []reportEntry{{"namespace-dump-error", "forbidden"}}},
		{name: "failed, both dumps fail", state: types.SpecStateFailed,
			collector: recordingCollector{failureErr: errors.New("node gone"), nsErr: errors.New("forbidden")},
			wantCalls: []string{"CollectFailure", "CollectNamespace"},
			wantEntries: []reportEntry{{reports.DumpsEntry, reports.Dumps(nil)}, {"failure-dump-error", "node gone"},
				{"namespace-dump-error", "forbidden"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := tt.collector
			fx := &fixture{env: &Env{Failures: &rc}, ns: "svcchk-abcde"}
			report := types.SpecReport{ContainerHierarchyTexts: []string{"ClusterIP"}, LeafNodeText: "works", State: tt.state}
			got := fx.collect(context.Background(), report)
			if diff := cmp.Diff(tt.wantEntries, got, cmp.AllowUnexported(reportEntry{})); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCalls, rc.calls); diff != "" {
				t.Errorf("collector calls (-want +got):\n%s", diff)
			}
			if rc.lastNSDump != fx.ns {
				t.Errorf("dumped namespace %q, want the spec's %q", rc.lastNSDump, fx.ns)
			}
			if len(rc.calls) == 2 && rc.lastSlug != reports.Slug("ClusterIP works") {
				t.Errorf("failure dump slug %q, want %q", rc.lastSlug, reports.Slug("ClusterIP works"))
			}
		})
	}
	if got := (&fixture{env: &Env{}, ns: "x"}).collect(context.Background(), types.SpecReport{State: types.SpecStateFailed}); got != nil {
		t.Errorf("collect without a collector = %v, want nothing", got)
	}
}
