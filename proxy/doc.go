// Package proxy names the Service proxy under test: which proxy a cluster
// runs (svccheck's own, stock kube-proxy in one of its modes, or one svccheck
// does not know, such as a CNI that replaced kube-proxy), how svccheck found
// out, and what of it a run broke on purpose.
//
// One Proxy value travels from the cluster driver (suites/cluster) through
// the run (run) to the specs (suites/specs), the dumps (suites/diag) and the
// reports (reports), so each asks it questions (IsKubeProxy, Tables) instead
// of matching strings.
package proxy
