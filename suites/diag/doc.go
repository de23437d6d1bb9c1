// Package diag collects what a person needs to debug Service proxying on a
// cluster: each node's netfilter state (iptables-save for nat and filter, for
// every iptables backend that holds rules), conntrack table, addresses,
// routes, routing rules, the sysctls that matter, the proxy's log and
// metrics, and the cluster's Services, EndpointSlices and Pods.
//
// Commands run on a node through its kind exec.Cmder, each under a timeout,
// nodes in parallel with a bound. A command that fails does not fail the
// dump: its file records the command line, exit status and stderr, so an
// empty dump always says why it is empty. Files land under the output
// layout of package reports: nodes/<node>/, nodes/<node>/failures/<slug>/
// and cluster/<namespace>/.
package diag
