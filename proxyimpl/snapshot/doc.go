// Package snapshot turns Kubernetes API objects (Services, EndpointSlices and
// the node's identity) into svccheck's proxy model: one ServicePort per
// Service port and protocol, with its addresses, policies and usable
// endpoints already chosen, and the hash-based chain names the renderer uses.
//
// The package is pure: no I/O, no clock, no logging. Malformed fields do not
// fail a build; they skip the Service (or the port, or the address) and are
// returned as Problems for the caller to log or turn into events.
//
// Endpoint selection follows kube-proxy's CategorizeEndpoints: Ready
// endpoints first, Serving-and-Terminating ones when none are ready, computed
// independently for the cluster-wide set and for the set on this node.
// Topology hints (trafficDistribution, zone and node hints) are ignored.
package snapshot
