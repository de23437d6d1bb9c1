// Package preflight checks, before svccheck creates anything on a cluster it
// did not make, that a run can work there: the API server answers, the
// caller holds every permission the run uses (asked with
// SelfSubjectAccessReviews), enough Linux worker nodes are schedulable, the
// agent image can be pulled, and the cluster's admission lets svccheck's
// namespaces hold host pods. Every problem found is reported at once.
//
// Required lists the access a run needs; docs/rbac.yaml grants exactly that,
// which a test checks.
package preflight
