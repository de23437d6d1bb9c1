// Package integration holds svccheck's integration tests of its Service
// proxy: real iptables-restore runs and real TCP and UDP packets in network
// namespaces built on the local machine, and the restore benchmarks.
//
// The non-test files are the harness: a topology of network namespaces
// ("nodes" on a shared bridge, "pods" behind each node, an outside client),
// an echo server that answers with its name and the client address it saw,
// and a prober that reports who answered, was refused, or timed out. Echo
// servers and probes run as re-executions of the test binary inside a
// namespace (see RunChild); everything goes through a kind exec.Cmder.
//
// Addresses (all inside namespaces the harness creates and deletes):
// node network 10.210.0.0/24, service CIDR 10.211.0.0/16, pod CIDRs
// 10.212.N.0/24 for node N (cluster CIDR 10.212.0.0/16).
package integration
