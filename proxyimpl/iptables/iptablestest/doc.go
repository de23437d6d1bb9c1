// Package iptablestest holds test tools for code that programs iptables
// through svccheck's iptables.Interface:
//
//   - a parser of iptables-save output and iptables-restore input (they share
//     one grammar) into tables, ordered chains and structured rules, with a
//     printer whose output parses back to the same model;
//   - Fake, a stateful in-memory iptables.Interface that applies restore text
//     with --noflush semantics and fails the way the real tools do;
//   - Tracer, which walks a packet through parsed nat and filter tables the
//     way netfilter would and reports every possible outcome.
//
// Other packages' tests import it; it never runs a command.
package iptablestest
