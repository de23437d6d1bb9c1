// Package explain tells the path the first packet of a connection takes
// through a node's nat and filter tables: every rule it passes (as the dump
// prints it, with its line), the Service port each rule's comment names,
// each statistic branch with its probability, session affinity checks, the
// DNAT target, masquerading and the verdict. It reads the model of package
// ipsave and walks it with package iptrace, for svccheck's SVCCHK- chains
// and kube-proxy's iptables-mode KUBE- chains alike.
//
// Explain works on indexed tables and parses only the chains a trace
// reaches (Node.Tables parses them whole); DumpDir reads them, the node's
// addresses and the cluster's Pods from a dump directory (reports layout);
// WriteTree prints the result for people and encoding/json for tools.
package explain
