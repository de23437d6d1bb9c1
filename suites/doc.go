// Package suites holds svccheck's Ginkgo specs for Service proxying and the
// helpers they need: the cluster driver, the prober and the workloads.
package suites
