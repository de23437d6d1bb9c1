// Package doctor diagnoses a cluster's Service proxying from a dump
// (svccheck dump or a run's output directory): overlapping address ranges,
// node settings that break Services, iptables rules that disagree with the
// API, and an unhealthy proxy. Each Finding has a stable ID, a severity,
// the evidence (a dump file and line, or an object) and what to do.
//
// The checks read only files; live modes in the command line take a dump
// first. iptables.go holds the little iptables-save parsing the checks need.
package doctor
