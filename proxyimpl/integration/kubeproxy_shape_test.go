package integration

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// kubeProxyShape returns restore text (for --noflush, hooks included) that
// dispatches the cluster IPs of snap as kube-proxy's iptables mode does:
// one KUBE-SERVICES rule per Service port, a KUBE-SVC chain per port
// picking one KUBE-SEP chain per endpoint (statistic, 1/remaining), each
// KUBE-SEP marking hairpin traffic and DNATing, and the filter chains
// kube-proxy hooks into INPUT, FORWARD and OUTPUT for new connections.
// Comments and option order are kube-proxy v1.3x's.
func kubeProxyShape(snap *snapshot.Snapshot) []byte {
	var nat, natRules bytes.Buffer
	nat.WriteString("*nat\n")
	for _, c := range []string{"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-MARK-MASQ", "KUBE-POSTROUTING"} {
		nat.WriteString(":" + c + " - [0:0]\n")
	}
	natRules.WriteString(`-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
`)
	cidr := ""
	if len(snap.ClusterCIDRs) > 0 {
		cidr = snap.ClusterCIDRs[0].String()
	}
	var chains bytes.Buffer
	for _, name := range snap.Names() {
		p := snap.Ports[name]
		eps := p.InternalEndpoints()
		if len(eps) == 0 || len(p.ClusterIPs) == 0 {
			continue
		}
		svc := "KUBE-SVC-" + p.Hash
		vip, port, n := p.ClusterIPs[0].String()+"/32", strconv.Itoa(int(p.Port)), name.String()
		fmt.Fprintf(&natRules, "-A KUBE-SERVICES -d %s -p tcp -m comment --comment \"%s cluster IP\" -m tcp --dport %s -j %s\n", vip, n, port, svc)
		chains.WriteString(":" + svc + " - [0:0]\n")
		if cidr != "" {
			fmt.Fprintf(&natRules, "-A %s ! -s %s -d %s -p tcp -m comment --comment \"%s cluster IP\" -m tcp --dport %s -j KUBE-MARK-MASQ\n", svc, cidr, vip, n, port)
		}
		for j, ep := range eps {
			sep := "KUBE-SEP-" + p.Hash[:12] + fmt.Sprintf("%04d", j)
			chains.WriteString(":" + sep + " - [0:0]\n")
			dest := ep.IP.String() + ":" + strconv.Itoa(int(ep.Port))
			stat := ""
			if left := len(eps) - j; left > 1 {
				stat = " -m statistic --mode random --probability " + strconv.FormatFloat(1/float64(left), 'f', 11, 64)
			}
			fmt.Fprintf(&natRules, "-A %s -m comment --comment \"%s -> %s\"%s -j %s\n", svc, n, dest, stat, sep)
			fmt.Fprintf(&natRules, "-A %s -s %s/32 -m comment --comment %s -j KUBE-MARK-MASQ\n", sep, ep.IP, n)
			fmt.Fprintf(&natRules, "-A %s -p tcp -m comment --comment %s -m tcp -j DNAT --to-destination %s\n", sep, n, dest)
		}
	}
	natRules.WriteString(`-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS` + "\n")
	nat.Write(chains.Bytes())
	nat.Write(natRules.Bytes())
	nat.WriteString("COMMIT\n")
	nat.WriteString(`*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`)
	return nat.Bytes()
}
