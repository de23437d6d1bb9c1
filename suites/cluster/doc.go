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
//
// A cluster's kubeconfig lives in one of two kinds of file.
// DefaultKubeconfigPath(name) is svccheck's own: Create and Get write it
// whole, holding only that cluster, and Delete removes it. Any other file
// (Options.Kubeconfig, such as ~/.kube/config) is the user's: kind merges the
// cluster's entries into it on create and removes them again on delete (its
// cluster, user and context, all named kind-<name>, and current-context when
// it names them). svccheck never rewrites such a file whole and never removes
// it, and builds its clients from the kubeconfig kind generates in memory
// rather than from the merged file.
package cluster
