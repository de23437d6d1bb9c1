// Package render turns a snapshot of svccheck's proxy model into iptables
// rules and then into iptables-restore text. It is pure: no I/O, no clock,
// deterministic output for the same input.
//
// Render (or RenderChanged, which re-renders only some Service ports and
// reuses a previous RuleSet for the rest) builds a structured RuleSet: the
// global chains, and per Service port its own chains plus its rules in the
// shared chains. WriteFull and WritePartial turn RuleSets into restore
// text: a full sync declares and fills every chain and deletes stale ones;
// a partial sync rewrites only the changed ports' chains and edits the
// shared chains rule by rule with -D and -I. Hooks lists the jump rules in
// the built-in chains, which the restore text does not carry.
//
// The rule shape is described in the documentation of package proxyimpl.
package render
