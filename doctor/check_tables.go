package doctor

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/svccheck/svccheck/suites/diag"
)

func checkSplitBackends(d *Dump) []Finding {
	var out []Finding
	for _, n := range d.Nodes {
		lines, ok := n.Lines(diag.FileIPTablesBackend)
		if !ok {
			out = append(out, missing(n, diag.FileIPTablesBackend, "iptables backends"))
			continue
		}
		var with []string
		var ev []string
		for i, l := range lines {
			name, rest, found := strings.Cut(l, ": ")
			f := strings.Fields(rest)
			if !found || len(f) < 2 || f[1] != "rules" {
				continue
			}
			if count, err := strconv.Atoi(f[0]); err == nil && count > 0 {
				with = append(with, name)
				ev = append(ev, evidence(n.Path(diag.FileIPTablesBackend), i+1, l))
			}
		}
		if len(with) > 1 {
			out = append(out, Finding{ID: "SVC010", Severity: SeverityError, Node: n.Name,
				Message:  fmt.Sprintf("rules are split between iptables backends %s: packets traverse both, and a tool reading one misses the other's rules", strings.Join(with, " and ")),
				Evidence: ev,
				Action:   "find which program writes with the wrong iptables (iptables -V in each agent's image; see the iptables-<backend>-*.txt dumps) and flush its rules from that backend"})
		}
	}
	return out
}

// kubeletChains are KUBE- chains the kubelet itself makes, whatever the proxy.
var kubeletChains = map[string]bool{"KUBE-KUBELET-CANARY": true, "KUBE-FIREWALL": true, "KUBE-MARK-DROP": true}

// iptablesFiles lists a node's iptables-save files: both tables of the
// dumped backend and of any other backend holding rules.
func iptablesFiles(n *NodeDump) []string {
	files := []string{diag.FileIPTablesNAT, diag.FileIPTablesFilter}
	for _, b := range []string{"nft", "legacy"} {
		for _, t := range []string{"nat", "filter"} {
			if f := "iptables-" + b + "-" + t + ".txt"; n.Has(f) {
				files = append(files, f)
			}
		}
	}
	return files
}

func checkStaleChains(d *Dump) []Finding {
	var stale func(string) bool
	var owner, action string
	switch {
	case d.ProxyMode == "svccheck":
		stale = func(c string) bool { return strings.HasPrefix(c, "KUBE-") && !kubeletChains[c] }
		owner, action = "kube-proxy", "run 'kube-proxy --cleanup' on the node (or delete the chains: iptables -t <table> -F/-X), as a swap to svccheck's proxy should have"
	case strings.HasPrefix(d.ProxyMode, "kube-proxy"):
		stale = func(c string) bool { return strings.HasPrefix(c, "SVCCHK-") }
		owner, action = "svccheck's proxy", "run 'svccheck proxy cleanup' on the node (or delete the SVCCHK- chains: iptables -t <table> -F/-X), as a swap back to kube-proxy should have"
	default:
		return nil
	}
	var out []Finding
	for _, n := range d.Nodes {
		for _, file := range iptablesFiles(n) {
			lines, ok := n.Lines(file)
			if !ok {
				continue
			}
			var ev []string
			for _, c := range parseSave(lines).chains {
				if stale(c.name) {
					ev = append(ev, evidence(n.Path(file), c.line, ":"+c.name))
				}
			}
			if len(ev) == 0 {
				continue
			}
			shown := ev
			if len(shown) > 5 {
				shown = append(shown[:5:5], fmt.Sprintf("... and %d more", len(ev)-5))
			}
			out = append(out, Finding{ID: "SVC011", Severity: SeverityWarning, Node: n.Name,
				Message:  fmt.Sprintf("chains of %s are left in %s although the cluster's proxy is %s: %d", owner, file, d.ProxyMode, len(ev)),
				Evidence: shown, Action: action})
		}
	}
	return out
}
