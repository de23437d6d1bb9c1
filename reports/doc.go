// Package reports turns a run's results into files and tables: JUnit and JSON
// (through Ginkgo's own reporters), a Markdown summary, the terminal summary
// table and the side-by-side comparison of two proxy modes.
//
// Everything here is pure: a results model in, bytes to an io.Writer out. The
// only functions that touch the file system are WriteJUnit, WriteJSON (Ginkgo's
// reporters write to a path, so they go through a temporary file),
// WriteFiles, which lays the files out under a run's output directory, and
// WriteComparisonFile, which writes a --compare run's comparison.md.
//
// # Output directory layout
//
// The layout of a run's output directory is a contract kept stable between
// releases (see the "Reports" section of the README):
//
//	summary.md                               verdict (PASSED, FAILED, INTERRUPTED), run metadata, totals, spec table, failures
//	junit.xml                                Ginkgo JUnit report
//	report.json                              Ginkgo JSON report
//	cluster/versions.yaml                    kind, Kubernetes, proxy mode, node image, proxy image
//	cluster/<namespace>/{services,endpointslices,pods}.yaml
//	                                         kube-system and every spec's namespace
//	nodes/<node>/...                         node dump at the end of the run
//	nodes/<node>/failures/<spec-slug>/...    node dump at the time a spec failed
//
// A --compare run's output directory holds comparison.md (FileComparison)
// and one such directory per proxy mode (svccheck/, kube-proxy/).
//
// # Report entries recorded by specs
//
// A spec records the nodes it involved with
//
//	AddReportEntry(reports.NodesEntry, reports.Nodes{"kind-worker", "kind-worker2"})
//
// and, after a failure, the node dumps taken for it with
//
//	AddReportEntry(reports.DumpsEntry, reports.Dumps(dirs))
//
// where dirs are paths relative to the output directory, as returned by
// diag's CollectFailure. Both values print as a comma-separated list, so they
// survive Ginkgo's JSON round trip.
package reports
