package doctor

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/diag"
)

// sysctlValue is one "key = value" line of a sysctl file.
type sysctlValue struct {
	value string
	line  int
	text  string
}

// sysctls reads file ("key = value" lines) of node n; ok is false when
// the file is missing.
func sysctls(n *NodeDump, file string) (map[string]sysctlValue, bool) {
	lines, ok := n.Lines(file)
	if !ok {
		return nil, false
	}
	out := map[string]sysctlValue{}
	for i, l := range lines {
		k, v, found := strings.Cut(l, " = ")
		if found && !strings.HasPrefix(l, "#") {
			out[strings.TrimSpace(k)] = sysctlValue{value: strings.TrimSpace(v), line: i + 1, text: l}
		}
	}
	return out, true
}

// nodeSysctls calls fn with each node's sysctl.txt, noting nodes without it.
func nodeSysctls(d *Dump, what string, fn func(n *NodeDump, s map[string]sysctlValue) []Finding) []Finding {
	var out []Finding
	for _, n := range d.Nodes {
		s, ok := sysctls(n, diag.FileSysctl)
		if !ok {
			out = append(out, missing(n, diag.FileSysctl, what))
			continue
		}
		out = append(out, fn(n, s)...)
	}
	return out
}

func (v sysctlValue) evidence(n *NodeDump, file string) []string {
	return []string{evidence(n.Path(file), v.line, v.text)}
}

func checkConntrack(d *Dump) []Finding {
	return nodeSysctls(d, "conntrack usage", func(n *NodeDump, s map[string]sysctlValue) []Finding {
		count, err1 := strconv.Atoi(s["net.netfilter.nf_conntrack_count"].value)
		limit, err2 := strconv.Atoi(s["net.netfilter.nf_conntrack_max"].value)
		if err1 != nil || err2 != nil || limit <= 0 || count*10 <= limit*9 {
			return nil
		}
		return []Finding{{ID: "SVC030", Severity: SeverityWarning, Node: n.Name,
			Message:  fmt.Sprintf("the conntrack table is %d%% full (%d of %d entries): new connections will be dropped when it is full", count*100/limit, count, limit),
			Evidence: append(s["net.netfilter.nf_conntrack_count"].evidence(n, diag.FileSysctl), s["net.netfilter.nf_conntrack_max"].evidence(n, diag.FileSysctl)...),
			Action:   "raise net.netfilter.nf_conntrack_max (kube-proxy's --conntrack-max-per-core) or find what opens so many connections (conntrack -L)"}}
	})
}

func checkIPForward(d *Dump) []Finding {
	return nodeSysctls(d, "ip_forward", func(n *NodeDump, s map[string]sysctlValue) []Finding {
		v, ok := s["net.ipv4.ip_forward"]
		if !ok || v.value != "0" {
			return nil
		}
		return []Finding{{ID: "SVC031", Severity: SeverityError, Node: n.Name,
			Message:  "net.ipv4.ip_forward is 0: the node does not forward pod traffic, nor Service traffic DNATed to pods elsewhere",
			Evidence: v.evidence(n, diag.FileSysctl),
			Action:   "sysctl -w net.ipv4.ip_forward=1 on the node, and find what turned it off (a sysctl.d file, a host agent)"}}
	})
}

// bridgeCNI returns the CNI config line naming a bridge plugin, if any.
func bridgeCNI(n *NodeDump) (int, string, bool) {
	lines, ok := n.Lines(diag.FileCNIConfig)
	if !ok {
		return 0, "", false
	}
	for i, l := range lines {
		if c := strings.ReplaceAll(l, " ", ""); strings.Contains(c, `"type":"bridge"`) {
			return i + 1, l, true
		}
	}
	return 0, "", true
}

func checkBridgeNetfilter(d *Dump) []Finding {
	return nodeSysctls(d, "bridge netfilter", func(n *NodeDump, s map[string]sysctlValue) []Finding {
		line, text, ok := bridgeCNI(n)
		if !ok {
			return []Finding{missing(n, diag.FileCNIConfig, "bridge netfilter")}
		}
		if line == 0 {
			return nil
		}
		cni := evidence(n.Path(diag.FileCNIConfig), line, text)
		v, set := s["net.bridge.bridge-nf-call-iptables"]
		switch {
		case !set:
			return []Finding{{ID: "SVC032", Severity: SeverityError, Node: n.Name,
				Message:  "the CNI is a bridge but br_netfilter is not loaded: traffic between pods on the bridge skips iptables, so Service DNAT replies bypass un-NAT",
				Evidence: []string{cni, "net.bridge.bridge-nf-call-iptables missing from " + n.Path(diag.FileSysctl)},
				Action:   "modprobe br_netfilter on the node (and list it in /etc/modules-load.d), then sysctl -w net.bridge.bridge-nf-call-iptables=1"}}
		case v.value != "1":
			return []Finding{{ID: "SVC032", Severity: SeverityError, Node: n.Name,
				Message:  "the CNI is a bridge but bridge-nf-call-iptables is off: bridged pod traffic skips iptables",
				Evidence: append([]string{cni}, v.evidence(n, diag.FileSysctl)...),
				Action:   "sysctl -w net.bridge.bridge-nf-call-iptables=1 on the node"}}
		}
		return nil
	})
}

// podInterface reports whether an interface name is a pod's host side or
// a CNI bridge.
func podInterface(name string) bool {
	for _, p := range []string{"veth", "cni", "cbr", "cali", "lxc", "flannel", "kube-bridge"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func checkRPFilter(d *Dump) []Finding {
	var out []Finding
	for _, n := range d.Nodes {
		s, ok := sysctls(n, diag.FileSysctlRPFilter)
		if !ok {
			out = append(out, missing(n, diag.FileSysctlRPFilter, "rp_filter"))
			continue
		}
		routes, _ := n.Lines(diag.FileIPRoute)
		all, _ := strconv.Atoi(s["net.ipv4.conf.all.rp_filter"].value)
		for key, v := range s {
			iface, ok := strings.CutPrefix(key, "net.ipv4.conf.")
			iface, ok2 := strings.CutSuffix(iface, ".rp_filter")
			val, _ := strconv.Atoi(v.value)
			if !ok || !ok2 || !podInterface(iface) || max(all, val) != 1 || routedVia(routes, iface) {
				continue
			}
			out = append(out, Finding{ID: "SVC033", Severity: SeverityWarning, Node: n.Name,
				Message:  fmt.Sprintf("strict rp_filter on pod interface %s, and no route leads back through it: the kernel drops what pods send through it", iface),
				Evidence: v.evidence(n, diag.FileSysctlRPFilter),
				Action:   fmt.Sprintf("sysctl -w net.ipv4.conf.%s.rp_filter=2 (loose) or 0, and net.ipv4.conf.all.rp_filter to match", iface)})
		}
	}
	return out
}

func routedVia(routes []string, iface string) bool {
	for _, r := range routes {
		if strings.Contains(r+" ", " dev "+iface+" ") {
			return true
		}
	}
	return false
}

func checkRouteLocalnet(d *Dump) []Finding {
	if !d.proxyIsIPTables() {
		return nil
	}
	var nodePort *corev1.Service
	for i, s := range d.Services {
		if s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			nodePort = &d.Services[i]
			break
		}
	}
	if nodePort == nil {
		return nil
	}
	return nodeSysctls(d, "route_localnet", func(n *NodeDump, s map[string]sysctlValue) []Finding {
		v, ok := s["net.ipv4.conf.all.route_localnet"]
		if !ok || v.value != "0" {
			return nil
		}
		return []Finding{{ID: "SVC034", Severity: SeverityWarning, Node: n.Name,
			Message:  fmt.Sprintf("route_localnet is 0 although the proxy (%s) serves NodePorts on 127.0.0.1 (Service %s/%s): connections to localhost:<nodePort> fail", d.ProxyMode, nodePort.Namespace, nodePort.Name),
			Evidence: v.evidence(n, diag.FileSysctl),
			Action:   "sysctl -w net.ipv4.conf.all.route_localnet=1 (the proxy sets it at start: restart it), or stop relying on localhost NodePorts"}}
	})
}
