// Package runner runs the Ginkgo specs linked into the svccheck binary
// in-process, with a label filter, focus and timeout, reports progress as it
// goes and returns Ginkgo's report of the run. Ginkgo allows one run per
// process: a second pass (svccheck run --compare) runs in a child process.
package runner
