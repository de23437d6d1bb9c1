// Package conntrack reads the kernel's connection-tracking table and deletes
// flows from it, the way kube-proxy does: a UDP flow keeps the DNAT it
// recorded (or the lack of one) for as long as packets keep arriving, so a
// flow to an endpoint that no longer serves, or one made before the Service
// had an endpoint, must be deleted for the client to reach the endpoints the
// rules now name.
//
// Netlink talks to the kernel over netlink (no conntrack binary); Fake is a
// table in memory for tests.
package conntrack
