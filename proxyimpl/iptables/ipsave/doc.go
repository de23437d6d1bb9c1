// Package ipsave is svccheck's one model of iptables-save text (and of
// iptables-restore input, which shares its grammar): tables, ordered
// chains and rules with typed matches and targets, each rule keeping its
// original text and its line in the input.
//
//   - Parse reads a dump into a Dump; ParseScript reads restore input into
//     its operations; ParseRule reads the words of one rule.
//   - String methods print the model back the way iptables-save does.
//   - Dump.Apply applies restore input with --noflush semantics.
//   - Scan and Summarize read the line structure only (table headers,
//     chain declarations, rules with their chain), for callers that count
//     rules or list chains in large dumps without typing every rule.
//
// It runs no command; package iptrace walks packets through a Dump.
package ipsave
