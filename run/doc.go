// Package run runs svccheck's Service suites against a cluster and returns
// their results, the way kind's pkg/cluster stands under its command line:
// the svccheck command parses flags, calls Run, Parallel or Compare, and
// prints what they return.
//
// A run obtains its cluster (creates a kind cluster, reuses one, or reaches
// any cluster through its kubeconfig), runs the selected specs, dumps every
// node and the cluster objects, and writes the reports into its output
// directory (see package reports). Run runs the specs in this process;
// Ginkgo runs specs once per process, so Parallel and Compare run them in
// child processes of the svccheck binary (Options.Executable), each a
// `svccheck run` of its own.
//
// Progress goes to Options.Progress. The results and the exit status come
// back as a Result; what to print of them is the caller's choice.
package run
