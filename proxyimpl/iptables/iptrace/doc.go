// Package iptrace walks the first packet of a connection through the nat
// and filter tables of an ipsave.Dump the way netfilter would, and reports
// every path it can take: each statistic branch with its probability, the
// rules matched on the way (with their line in the dump), the DNAT target,
// masquerading and the verdict.
//
// The API is deliberately small: New(dump, localAddrs...) builds a Tracer,
// Tracer.Trace(Packet) returns a Result whose Paths carry Probability,
// Destination, DNAT, Masquerade, Verdict and Trace (the walk).
package iptrace
