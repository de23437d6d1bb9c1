package proxy

import (
	"fmt"
	"strings"
)

// Mode names the Service proxy a cluster runs. Its value is what
// `svccheck run --proxy` takes and what cluster/versions.yaml's proxyMode
// and the reports show.
type Mode string

// The proxy modes svccheck knows.
const (
	// Svccheck runs svccheck's own iptables proxy as a DaemonSet, with
	// kind's kube-proxy disabled.
	Svccheck Mode = "svccheck"
	// KubeProxy runs stock kube-proxy in iptables mode.
	KubeProxy Mode = "kube-proxy"
	// KubeProxyNFTables runs stock kube-proxy in nftables mode.
	KubeProxyNFTables Mode = "kube-proxy:nftables"
	// KubeProxyIPVS runs stock kube-proxy in ipvs mode.
	KubeProxyIPVS Mode = "kube-proxy:ipvs"
	// Unknown is a cluster whose Service proxy svccheck cannot tell: no
	// svccheck proxy and no kube-proxy it knows (for example Cilium
	// replacing kube-proxy). Only a cluster reached through its
	// kubeconfig is found to run it; svccheck never creates one.
	Unknown Mode = "unknown/replaced"
)

// Modes lists every mode svccheck can create a cluster with, the default
// first.
var Modes = []Mode{Svccheck, KubeProxy, KubeProxyNFTables, KubeProxyIPVS}

// ParseMode parses a --proxy value. "kube-proxy:iptables" is accepted as a
// synonym of "kube-proxy".
func ParseMode(s string) (Mode, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "kube-proxy:iptables" {
		return KubeProxy, nil
	}
	for _, m := range Modes {
		if string(m) == v {
			return m, nil
		}
	}
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("unknown proxy mode %q (want one of %s)", s, strings.Join(names, ", "))
}

// IsKubeProxy reports whether m is stock kube-proxy, in any mode.
func (m Mode) IsKubeProxy() bool {
	return m == KubeProxy || strings.HasPrefix(string(m), string(KubeProxy)+":")
}

// Known reports whether m is a proxy svccheck knows: svccheck's own or
// kube-proxy.
func (m Mode) Known() bool {
	return m == Svccheck || m.IsKubeProxy()
}

// IPTables reports whether m keeps its Service rules in iptables:
// svccheck's proxy, or kube-proxy in iptables mode.
func (m Mode) IPTables() bool {
	return m == Svccheck || m == KubeProxy
}

// NFTables reports whether m keeps its Service rules in nftables
// (kube-proxy's table "ip kube-proxy").
func (m Mode) NFTables() bool {
	return m == KubeProxyNFTables
}

// KubeProxyMode returns kube-proxy's own name of its mode m runs in
// (iptables, nftables, ipvs); "none" for Svccheck, which runs no
// kube-proxy, as kind's configuration spells it.
func (m Mode) KubeProxyMode() string {
	switch m {
	case Svccheck:
		return "none"
	case KubeProxyNFTables:
		return "nftables"
	case KubeProxyIPVS:
		return "ipvs"
	default:
		return "iptables"
	}
}

// Dir names m's output directory and cluster name suffix in a --compare
// run: m with ":" replaced by "-".
func (m Mode) Dir() string {
	return strings.ReplaceAll(string(m), ":", "-")
}

// Proxy is the Service proxy under test.
type Proxy struct {
	// Mode is the proxy the cluster runs.
	Mode Mode `json:"mode"`
	// Source says how Mode was found: the run created the cluster with
	// it, or what detection read (a DaemonSet, kube-proxy's ConfigMap or
	// its /proxyMode endpoint). Empty when no one said.
	Source string `json:"source,omitempty"`
	// Broken lists what the run broke of svccheck's proxy on purpose
	// (proxyimpl.Breakages), to show the suites catch it; empty for an
	// intact proxy.
	Broken []string `json:"broken,omitempty"`
}

// String is the proxy's mode, with what is broken on purpose:
// "svccheck (broken: affinity,reject)".
func (p Proxy) String() string {
	if len(p.Broken) == 0 {
		return string(p.Mode)
	}
	return fmt.Sprintf("%s (broken: %s)", p.Mode, strings.Join(p.Broken, ","))
}

// Described is String with how the mode was found, for skip messages:
// "kube-proxy:nftables (ConfigMap kube-system/kube-proxy: mode nftables)".
func (p Proxy) Described() string {
	if p.Source == "" {
		return p.String()
	}
	return p.String() + " (" + p.Source + ")"
}
