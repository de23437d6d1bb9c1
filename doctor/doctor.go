package doctor

import (
	"fmt"
	"strings"
)

// Check is one of doctor's checks, under its stable ID.
type Check struct {
	// ID is stable across releases: tools may match on it.
	ID string
	// Title says what the check looks for.
	Title string
	run   func(d *Dump) []Finding
}

// Checks lists every check, in ID order.
var Checks = []Check{
	{"SVC001", "pod, Service, node and Docker network ranges overlap", checkRangeOverlap},
	{"SVC002", "a node route overlaps the Service range", checkServiceRoutes},
	{"SVC003", "the NodePort range overlaps ip_local_port_range", checkLocalPortRange},
	{"SVC010", "a node's rules are split between iptables-legacy and iptables-nft", checkSplitBackends},
	{"SVC011", "a proxy's chains left where that proxy does not run", checkStaleChains},
	{"SVC012", "a Service port with ready endpoints has no rules on a node", nil},
	{"SVC013", "rules for a Service port that no longer exists", nil},
	{"SVC014", "rules for an endpoint that no longer exists", nil},
	{"SVC015", "a ready endpoint missing from a node's rules", checkRules},
	{"SVC020", "an externalTrafficPolicy Local health check answers against its local endpoints", checkHealthChecks},
	{"SVC021", "the proxy is not Ready on a node", checkProxyPods},
	{"SVC022", "the proxy restarted", nil},
	{"SVC023", "the proxy fails its health check or its syncs", checkProxyMetrics},
	{"SVC030", "conntrack table over 90% full", checkConntrack},
	{"SVC031", "ip_forward off", checkIPForward},
	{"SVC032", "br_netfilter or bridge-nf-call-iptables off under a bridge CNI", checkBridgeNetfilter},
	{"SVC033", "strict rp_filter on a pod interface without a route back through it", checkRPFilter},
	{"SVC034", "route_localnet off where NodePorts on localhost are expected", checkRouteLocalnet},
	{"SVC090", "a file a check needs is missing from the dump", nil},
}

// idMissing is the ID of the note that a check could not run.
const idMissing = "SVC090"

// Run runs every check on d.
func Run(d *Dump) Report {
	r := Report{Dump: d.Dir, ProxyMode: d.ProxyMode}
	for _, n := range d.Nodes {
		r.Nodes = append(r.Nodes, n.Name)
	}
	for _, c := range Checks {
		if c.run != nil {
			r.Findings = append(r.Findings, c.run(d)...)
		}
	}
	sortFindings(r.Findings)
	return r
}

// missing notes that a check skipped node n (or the cluster, n nil)
// because file is not in the dump.
func missing(n *NodeDump, file, what string) Finding {
	f := Finding{ID: idMissing, Severity: SeverityInfo,
		Message: fmt.Sprintf("%s not checked: the dump has no %s", what, file),
		Action:  "take the dump with this svccheck version (svccheck dump, or svccheck doctor --name/--kubeconfig)"}
	if n != nil {
		f.Node, f.Message = n.Name, fmt.Sprintf("%s not checked: the dump has no %s", what, n.Path(file))
	}
	return f
}

// evidence formats a file line as evidence.
func evidence(file string, line int, text string) string {
	return fmt.Sprintf("%s:%d: %s", file, line, strings.TrimSpace(text))
}

// findLine returns the first line (1-based) of lines with prefix, and the line.
func findLine(lines []string, prefix string) (int, string) {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i + 1, l
		}
	}
	return 0, ""
}

// proxyIsIPTables reports whether the dump's proxy writes iptables rules
// (svccheck's proxy, or kube-proxy in iptables mode).
func (d *Dump) proxyIsIPTables() bool {
	return d.ProxyMode == "svccheck" || d.ProxyMode == "kube-proxy" || d.ProxyMode == "kube-proxy:iptables"
}
