package diag

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/svccheck/svccheck/proxy"
)

// Files of a node dump, under nodes/<node>/ (or a failure directory). Part
// of svccheck's stable output layout.
const (
	// FileIPTablesNAT and FileIPTablesFilter hold "iptables-save -c" of the
	// backend the node uses (the one holding more rules).
	FileIPTablesNAT    = "iptables-nat.txt"
	FileIPTablesFilter = "iptables-filter.txt"
	// FileIPTablesBackend explains which backend was chosen, with the rule
	// counts of both. If the other backend holds rules too, its dumps sit
	// beside as iptables-<backend>-nat.txt and iptables-<backend>-filter.txt.
	FileIPTablesBackend = "iptables-backend.txt"
	// FileNFTables holds "nft list ruleset": every nftables table, the
	// ones kube-proxy's nftables mode and other tools write natively as
	// well as iptables-nft's, in nft's own syntax.
	FileNFTables = "nftables.txt"
	// FileConntrack holds "conntrack -L".
	FileConntrack = "conntrack.txt"
	// FileIPAddr, FileIPRoute and FileIPRule hold "ip addr", "ip route show
	// table all" and "ip rule".
	FileIPAddr  = "ip-addr.txt"
	FileIPRoute = "ip-route.txt"
	FileIPRule  = "ip-rule.txt"
	// FileSysctl holds the sysctls that matter to Service proxying.
	FileSysctl = "sysctl.txt"
	// FileMetrics holds the proxy's Prometheus metrics, FileHealthz its
	// health check answer.
	FileMetrics = "metrics.txt"
	FileHealthz = "healthz.txt"
	// FileProxyLog holds the proxy pod's log on the node, FileProxyPreviousLog
	// the log of its previous container when it restarted.
	FileProxyLog         = "proxy.log"
	FileProxyPreviousLog = "proxy-previous.log"
	// FileSysctlRPFilter holds every interface's rp_filter setting.
	FileSysctlRPFilter = "sysctl-rp-filter.txt"
	// FileCNIConfig holds the CNI configuration files of /etc/cni/net.d.
	FileCNIConfig = "cni-config.txt"
	// FileHealthChecks holds, per externalTrafficPolicy Local Service, the
	// answer of its health check node port on the node (see
	// HealthCheckLine).
	FileHealthChecks = "healthchecks.txt"
)

// Sysctls lists the kernel settings recorded in FileSysctl.
var Sysctls = []string{
	"net.ipv4.ip_forward",
	"net.ipv4.conf.all.route_localnet",
	"net.ipv4.conf.all.rp_filter",
	"net.bridge.bridge-nf-call-iptables",
	"net.bridge.bridge-nf-call-ip6tables",
	"net.netfilter.nf_conntrack_max",
	"net.netfilter.nf_conntrack_count",
	"net.netfilter.nf_conntrack_tcp_be_liberal",
	"net.ipv4.ip_local_port_range",
}

// Ports the proxies serve metrics and health checks on, on every node.
const (
	SvccheckMetricsPort  = 10269
	SvccheckHealthzPort  = 10266
	KubeProxyMetricsPort = 10249
	KubeProxyHealthzPort = 10256
)

// nodeFiles runs every command of a node dump and returns the files.
func (c *Collector) nodeFiles(ctx context.Context, node Node) []record {
	t := c.timeout()
	files := iptablesFiles(ctx, node, t)
	files = append(files,
		run(ctx, node.Cmder, t, FileNFTables, "nft", "list", "ruleset"),
		run(ctx, node.Cmder, t, FileConntrack, "conntrack", "-L"),
		run(ctx, node.Cmder, t, FileIPAddr, "ip", "addr"),
		run(ctx, node.Cmder, t, FileIPRoute, "ip", "route", "show", "table", "all"),
		run(ctx, node.Cmder, t, FileIPRule, "ip", "rule"),
		run(ctx, node.Cmder, t, FileSysctl, append([]string{"sysctl"}, Sysctls...)...),
		run(ctx, node.Cmder, t, FileSysctlRPFilter, "sysctl", "-a", "-r", `\.rp_filter$`),
		run(ctx, node.Cmder, t, FileCNIConfig, "sh", "-c", cniConfigScript),
	)
	if hc := c.healthCheckFile(ctx, node); hc != nil {
		files = append(files, *hc)
	}
	mode := c.proxyMode(ctx)
	files = append(files, proxyEndpointFiles(ctx, node, t, mode)...)
	files = append(files, c.proxyLogFiles(ctx, node.Name, mode)...)
	return files
}

// proxyEndpointFiles curls the proxy's metrics and health check on the node.
// With the proxy mode unknown it tries svccheck's ports, then kube-proxy's.
func proxyEndpointFiles(ctx context.Context, node Node, timeout time.Duration, mode proxy.Mode) []record {
	type ports struct{ metrics, healthz int }
	var candidates []ports
	switch {
	case mode == proxy.Svccheck:
		candidates = []ports{{SvccheckMetricsPort, SvccheckHealthzPort}}
	case mode.IsKubeProxy():
		candidates = []ports{{KubeProxyMetricsPort, KubeProxyHealthzPort}}
	default:
		candidates = []ports{{SvccheckMetricsPort, SvccheckHealthzPort}, {KubeProxyMetricsPort, KubeProxyHealthzPort}}
	}
	var metrics, healthz record
	var tried []string
	for i, p := range candidates {
		metrics = curl(ctx, node, timeout, FileMetrics, fmt.Sprintf("http://127.0.0.1:%d/metrics", p.metrics))
		if !metrics.failed() || i == len(candidates)-1 {
			healthz = curl(ctx, node, timeout, FileHealthz, fmt.Sprintf("http://127.0.0.1:%d/healthz", p.healthz))
			break
		}
		tried = append(tried, fmt.Sprintf("port %d failed (%v)", p.metrics, metrics.err))
	}
	if mode == "" {
		note := "proxy mode unknown: tried svccheck's metrics port, then kube-proxy's"
		if len(tried) > 0 {
			note += "; " + strings.Join(tried, "; ")
		}
		metrics.header = append(metrics.header, note)
	}
	return []record{metrics, healthz}
}

// curl fetches url on the node; the trailer records the HTTP status.
func curl(ctx context.Context, node Node, timeout time.Duration, name, url string) record {
	secs := fmt.Sprintf("%d", max(1, int(timeout/time.Second)-1))
	return run(ctx, node.Cmder, timeout, name, "curl", "-sS", "--max-time", secs, "-w", "\n# svccheck: HTTP %{http_code}\n", url)
}
