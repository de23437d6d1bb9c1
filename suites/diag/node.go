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

// nodeFiles runs every command of a node dump and returns the files. The
// commands known up front run in one batch on the node (see prefetch).
func (c *Collector) nodeFiles(ctx context.Context, node Node) []record {
	t := c.timeout()
	mode := c.proxyMode(ctx)
	hcArgs, hc := c.healthCheckCommand(ctx, node)
	commands := iptablesCommands()
	for _, nc := range nodeCommands {
		commands = append(commands, nc.argv)
	}
	if hcArgs != nil {
		commands = append(commands, hcArgs)
	}
	if ports := proxyPorts(mode); len(ports) > 0 {
		commands = append(commands, curlArgs(t, metricsURL(ports[0])), curlArgs(t, healthzURL(ports[0])))
	}
	node.Cmder = prefetch(ctx, node.Cmder, t, commands)
	files := iptablesFiles(ctx, node, t)
	for _, nc := range nodeCommands {
		files = append(files, run(ctx, node.Cmder, t, nc.file, nc.argv...))
	}
	if hc := c.healthCheckRecord(ctx, node, hcArgs, hc); hc != nil {
		files = append(files, *hc)
	}
	files = append(files, proxyEndpointFiles(ctx, node, t, mode)...)
	files = append(files, c.proxyLogFiles(ctx, node.Name, mode)...)
	return files
}

// nodeCommand is a plain command of a node dump and the file it fills.
type nodeCommand struct {
	file string
	argv []string
}

// nodeCommands are the node dump's plain commands, in file order.
var nodeCommands = []nodeCommand{
	{FileNFTables, []string{"nft", "list", "ruleset"}},
	{FileConntrack, []string{"conntrack", "-L"}},
	{FileIPAddr, []string{"ip", "addr"}},
	{FileIPRoute, []string{"ip", "route", "show", "table", "all"}},
	{FileIPRule, []string{"ip", "rule"}},
	{FileSysctl, append([]string{"sysctl"}, Sysctls...)},
	{FileSysctlRPFilter, []string{"sysctl", "-a", "-r", `\.rp_filter$`}},
	{FileCNIConfig, []string{"sh", "-c", cniConfigScript}},
}

// proxyPort is where a proxy serves its metrics and health check.
type proxyPort struct{ metrics, healthz int }

// proxyPorts lists the ports to try for mode: svccheck's, kube-proxy's,
// or both in that order when the mode is unknown.
func proxyPorts(mode proxy.Mode) []proxyPort {
	switch {
	case mode == proxy.Svccheck:
		return []proxyPort{{SvccheckMetricsPort, SvccheckHealthzPort}}
	case mode.IsKubeProxy():
		return []proxyPort{{KubeProxyMetricsPort, KubeProxyHealthzPort}}
	}
	return []proxyPort{{SvccheckMetricsPort, SvccheckHealthzPort}, {KubeProxyMetricsPort, KubeProxyHealthzPort}}
}

func metricsURL(p proxyPort) string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", p.metrics) }
func healthzURL(p proxyPort) string { return fmt.Sprintf("http://127.0.0.1:%d/healthz", p.healthz) }

// proxyEndpointFiles curls the proxy's metrics and health check on the node.
// With the proxy mode unknown it tries svccheck's ports, then kube-proxy's.
func proxyEndpointFiles(ctx context.Context, node Node, timeout time.Duration, mode proxy.Mode) []record {
	candidates := proxyPorts(mode)
	var metrics, healthz record
	var tried []string
	for i, p := range candidates {
		metrics = curl(ctx, node, timeout, FileMetrics, metricsURL(p))
		if !metrics.failed() || i == len(candidates)-1 {
			healthz = curl(ctx, node, timeout, FileHealthz, healthzURL(p))
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
	return run(ctx, node.Cmder, timeout, name, curlArgs(timeout, url)...)
}

// curlArgs is the command fetching url within timeout.
func curlArgs(timeout time.Duration, url string) []string {
	secs := fmt.Sprintf("%d", max(1, int(timeout/time.Second)-1))
	return []string{"curl", "-sS", "--max-time", secs, "-w", "\n# svccheck: HTTP %{http_code}\n", url}
}
