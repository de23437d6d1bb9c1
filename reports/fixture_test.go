package reports

import (
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/proxy"
)

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func entry(name string, value any) types.ReportEntry {
	return types.ReportEntry{Name: name, Value: types.WrapEntryValue(value), Time: t0}
}

func it(suite, text string, state types.SpecState, d time.Duration, labels []string, entries ...types.ReportEntry) types.SpecReport {
	return types.SpecReport{
		ContainerHierarchyTexts:  []string{suite},
		ContainerHierarchyLabels: [][]string{{suite}},
		LeafNodeType:             types.NodeTypeIt,
		LeafNodeText:             text,
		LeafNodeLabels:           labels,
		LeafNodeLocation:         types.CodeLocation{FileName: "/src/suites/specs/" + suite + ".go", LineNumber: 10},
		State:                    state,
		StartTime:                t0,
		EndTime:                  t0.Add(d),
		RunTime:                  d,
		ReportEntries:            entries,
	}
}

func failed(sr types.SpecReport, msg string, line int) types.SpecReport {
	sr.Failure = types.Failure{
		Message:  msg,
		Location: types.CodeLocation{FileName: sr.LeafNodeLocation.FileName, LineNumber: line},
	}
	return sr
}

// fixtureReport is a run with a spec of every interesting kind: passed with
// nodes, failed with nodes and dumps, skipped, pending, a failing
// BeforeSuite and a passing one (which is not a row).
func fixtureReport() types.Report {
	specs := types.SpecReports{
		{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed, RunTime: time.Second},
		it("ClusterIP", "reaches every backend", types.SpecStatePassed, 12340*time.Millisecond, []string{"TCP"},
			entry(NodesEntry, Nodes{"kind-worker", "kind-worker2"})),
		failed(it("Affinity", "sticks to one backend with ClientIP | pipes", types.SpecStateFailed, 31*time.Second, nil,
			entry(NodesEntry, Nodes{"kind-worker"}),
			entry(DumpsEntry, Dumps{"nodes/kind-control-plane/failures/affinity-sticks-to-one-backend-with-clientip-pipes", "nodes/kind-worker/failures/affinity-sticks-to-one-backend-with-clientip-pipes"})),
			"Expected\n    <int>: 3\nto equal\n    <int>: 1\n```", 42),
		it("NodePort", "is reachable on every node", types.SpecStateSkipped, 0, []string{"Slow"}),
		it("Headless", "returns one A record per pod", types.SpecStatePending, 0, nil),
		failed(it("ETPLocal", "preserves the client address", types.SpecStateTimedout, 2*time.Minute, nil), "timed out", 77),
	}
	specs = append(specs, types.SpecReport{
		LeafNodeType: types.NodeTypeAfterSuite, State: types.SpecStateFailed, RunTime: 300 * time.Millisecond,
		Failure: types.Failure{Message: "deleting namespaces: boom", Location: types.CodeLocation{FileName: "/src/suites/suite.go", LineNumber: 5}},
	})
	return types.Report{
		SuiteDescription: "svccheck",
		SuitePath:        "/src/suites",
		SuiteSucceeded:   false,
		StartTime:        t0,
		EndTime:          t0.Add(3*time.Minute + 12*time.Second),
		RunTime:          3*time.Minute + 12*time.Second,
		SpecReports:      specs,
	}
}

var fixtureMeta = Metadata{
	Proxy:             proxy.Proxy{Mode: proxy.Svccheck},
	ClusterName:       "svcchk-test",
	NodeImage:         "svccheck.local/node:v1.34.0",
	KubernetesVersion: "v1.34.0",
}

// interruptedReport is a run Ctrl-C stopped between specs: the first spec
// passed, Ginkgo skipped the rest, no spec failed.
func interruptedReport() types.Report {
	return types.Report{
		SuiteDescription:           "svccheck",
		SuiteSucceeded:             false,
		SpecialSuiteFailureReasons: []string{"Interrupted by User"},
		StartTime:                  t0,
		EndTime:                    t0.Add(40 * time.Second),
		SpecReports: types.SpecReports{
			it("ClusterIP", "reaches every backend", types.SpecStatePassed, 12340*time.Millisecond, nil,
				entry(NodesEntry, Nodes{"kind-worker"})),
			it("ClusterIP", "follows a change of the Service port", types.SpecStateSkipped, 0, nil),
			it("NodePort", "is reachable on every node", types.SpecStateSkipped, 0, nil),
		},
	}
}
