package cluster

import (
	"fmt"
	"io"
	"strings"
)

// ProxyMode names the Service proxy a cluster runs.
type ProxyMode string

// The proxy modes svccheck knows.
const (
	// ProxySvccheck runs svccheck's own iptables proxy as a DaemonSet, with
	// kind's kube-proxy disabled.
	ProxySvccheck ProxyMode = "svccheck"
	// ProxyKubeProxy runs stock kube-proxy in iptables mode.
	ProxyKubeProxy ProxyMode = "kube-proxy"
	// ProxyKubeProxyNFTables runs stock kube-proxy in nftables mode.
	ProxyKubeProxyNFTables ProxyMode = "kube-proxy:nftables"
	// ProxyKubeProxyIPVS runs stock kube-proxy in ipvs mode.
	ProxyKubeProxyIPVS ProxyMode = "kube-proxy:ipvs"
)

// ProxyModes lists every valid ProxyMode, the default first.
var ProxyModes = []ProxyMode{ProxySvccheck, ProxyKubeProxy, ProxyKubeProxyNFTables, ProxyKubeProxyIPVS}

// ParseProxyMode parses a --proxy value. "kube-proxy:iptables" is accepted as
// a synonym of "kube-proxy".
func ParseProxyMode(s string) (ProxyMode, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "kube-proxy:iptables" {
		return ProxyKubeProxy, nil
	}
	for _, m := range ProxyModes {
		if string(m) == v {
			return m, nil
		}
	}
	names := make([]string, len(ProxyModes))
	for i, m := range ProxyModes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("unknown proxy mode %q (want one of %s)", s, strings.Join(names, ", "))
}

// KubeProxyMode returns the kube-proxy mode kind configures for m: "none"
// for ProxySvccheck.
func (m ProxyMode) KubeProxyMode() string {
	switch m {
	case ProxySvccheck:
		return "none"
	case ProxyKubeProxyNFTables:
		return "nftables"
	case ProxyKubeProxyIPVS:
		return "ipvs"
	default:
		return "iptables"
	}
}

// DefaultName is the cluster name used when Options.Name is empty.
const DefaultName = "svccheck"

// DefaultWorkers is the number of worker nodes used when Options.Workers is 0.
const DefaultWorkers = 2

// PodSubnet is the pod network of every svccheck cluster (kind's default).
const PodSubnet = "10.244.0.0/16"

// ServiceSubnet is the Service network of every svccheck cluster (kind's default).
const ServiceSubnet = "10.96.0.0/16"

// Options says what cluster Create makes.
type Options struct {
	// Name is the kind cluster name; DefaultName when empty.
	Name string
	// Workers is the number of worker nodes beside the one control plane;
	// DefaultWorkers when 0.
	Workers int
	// Proxy is the Service proxy to run; ProxySvccheck when empty.
	Proxy ProxyMode
	// NodeImage is the kind node image. When empty, kind's default image is
	// used if Docker has it or can pull it, else svccheck's air-gapped image
	// (built on first use).
	NodeImage string
	// Kubeconfig is where the cluster's kubeconfig is written; when empty,
	// DefaultKubeconfigPath(Name), which svccheck writes whole. Into any
	// other file kind merges the cluster's entries (context kind-<Name>),
	// keeping the file's other entries; Delete removes only those entries
	// from it.
	Kubeconfig string
	// Retain keeps the node containers of a failed or interrupted create, for
	// debugging.
	Retain bool
	// Progress receives one line per step, with the elapsed time; nil
	// discards them.
	Progress io.Writer
	// Binary is the static linux svccheck binary loaded onto the nodes (in
	// the svccheck image and at /usr/local/bin/svccheck); when empty, the
	// running executable.
	Binary string
}

func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.Workers < 0 {
		return o, fmt.Errorf("workers must not be negative, got %d", o.Workers)
	}
	if o.Proxy == "" {
		o.Proxy = ProxySvccheck
	}
	if _, err := ParseProxyMode(string(o.Proxy)); err != nil {
		return o, err
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Kubeconfig == "" {
		p, err := DefaultKubeconfigPath(o.Name)
		if err != nil {
			return o, err
		}
		o.Kubeconfig = p
	}
	return o, nil
}
