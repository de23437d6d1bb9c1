// Package specs holds svccheck's Ginkgo specs of Service proxying:
// ClusterIP, NodePort, externalTrafficPolicy Local, session affinity,
// headless Services, internalTrafficPolicy Local, terminating endpoints and
// external IPs. Importing the package registers them; SetEnv tells them
// which cluster to use before the runner starts them.
//
// Every spec gets its own namespace, deleted by DeferCleanup. Traffic is sent
// only from inside the cluster: from agent pods (exec through the API server)
// or from the nodes (kind node exec), never from the host. Each check polls
// with Gomega's Eventually under a stated budget. The nodes a spec involved
// are recorded as a report entry; every spec's namespace (Services,
// EndpointSlices, Pods) is dumped before it goes, and a failing spec also
// dumps every node's netfilter state.
package specs
