// Package cleanup finds and removes what svccheck left on a cluster: the
// namespaces labelled app.kubernetes.io/managed-by=svccheck (the spec,
// host-pod and preflight namespaces, and with them every pod and Service
// svccheck made), grouped by the run id label. A run on a cluster it did
// not make creates no cluster-scoped object, so namespaces are all there is
// to remove.
package cleanup
