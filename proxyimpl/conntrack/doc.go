// Package conntrack removes stale UDP connection-tracking entries after the
// proxy reprograms a Service, the way kube-proxy does: UDP flows keep using
// a conntrack entry (and the DNAT it recorded) for as long as packets keep
// arriving, so a flow to a removed endpoint, or a flow that was answered with
// "no endpoints" before the first endpoint appeared, must be deleted by hand.
//
// The real implementation runs the conntrack tool through a kind exec.Cmder;
// Fake records what was asked for, for tests.
package conntrack
