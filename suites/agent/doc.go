// Package agent is svccheck's in-cluster test workload: a server that tells
// each client who answered and which client address it saw (HTTP and UDP
// echo), and a prober that dials a target a number of times and reports, per
// attempt, who answered or how it failed (refused, timeout, other).
//
// `svccheck agent serve` runs the server in backend pods; `svccheck agent
// probe` runs the prober in client pods and on nodes.
package agent
