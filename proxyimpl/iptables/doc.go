// Package iptables is the proxy's narrow interface to the iptables userspace
// tools: one restore per sync, a save for inspection, and backend detection.
// Every command goes through a kind exec.Cmder, so the same code drives the
// local host, a network namespace (NetNSCmder), a chroot into a node's root
// (ChrootCmder) or a kind node.
//
// Package iptablestest holds the matching Fake, a parser of iptables-save
// output and a packet tracer.
package iptables
