// Package e2e tests `svccheck run` end to end against a real kind cluster:
// the suites pass against svccheck's proxy, and against a proxy broken on
// purpose (--break affinity) exactly the Affinity specs fail while the node
// dumps show no session affinity rules. Last, on the same cluster, the
// fault checks (faults_test.go) restart the API server and a worker and hold
// the xtables lock under one held connection. The tests need the e2e build tag,
// root, Docker and a built binary (make e2e).
package e2e
