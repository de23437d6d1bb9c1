// Package cluster creates and deletes kind clusters for svccheck through
// kind's Go API, with svccheck's own Service proxy (or stock kube-proxy)
// running on every node.
//
// Create picks a node image (an explicit one, kind's default when Docker has
// it, or svccheck's air-gapped image from package nodeimage), creates the
// cluster, sets up pod networking when the image has no CNI of its own,
// side-loads the svccheck image (one image serves the proxy and the agent) and
// the svccheck binary on every node, deploys the proxy DaemonSet and waits
// until the proxy and CoreDNS are Ready.
package cluster
