// Package proxyimpl is svccheck's own Service proxy: it watches Services,
// EndpointSlices and Nodes and programs the nat and filter tables the way
// kube-proxy's iptables mode does, under its own chain prefix.
package proxyimpl
