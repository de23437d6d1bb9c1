// Package iptablestest holds test tools for code that programs iptables
// through svccheck's iptables.Interface: Fake, a stateful in-memory
// iptables.Interface that applies restore text with --noflush semantics
// (over the ipsave model) and fails the way the real tools do.
//
// The model of iptables-save text lives in package ipsave and the packet
// tracer in package iptrace; tests use them directly.
//
// Other packages' tests import it; it never runs a command.
package iptablestest
