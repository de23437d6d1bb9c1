// Package workload creates the Kubernetes objects svccheck's specs need: a
// namespace per spec, agent pods (backends and clients) pinned to nodes,
// Services, and waits for them to be ready.
package workload
