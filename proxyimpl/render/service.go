package render

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// portRenderer renders one Service port.
type portRenderer struct {
	*renderer
	p     *snapshot.ServicePort
	sr    *ServiceRules
	proto string // "tcp", "udp" or "sctp"
	name  string // "ns/name:port"
}

// servicePort renders everything port p contributes.
func (r *renderer) servicePort(p *snapshot.ServicePort) *ServiceRules {
	p = r.broken(p)
	pr := &portRenderer{
		renderer: r,
		p:        p,
		sr:       &ServiceRules{Name: p.Name},
		proto:    strings.ToLower(string(p.Protocol)),
		name:     p.Name.String(),
	}
	pr.internal()
	pr.external()
	if p.HealthCheckNodePort != 0 {
		pr.shared(iptables.TableFilter, ChainNodePorts, pr.rule("", "health check node port").
			add("-m", pr.proto, "--dport", itoa(p.HealthCheckNodePort), "-j", "ACCEPT"))
	}
	pr.sr.HairpinIPs = hairpinIPs(p)
	return pr.sr
}

// internal renders cluster IP traffic: the SVC chain and its dispatch
// rules, or filter rules when there is no endpoint for it.
func (pr *portRenderer) internal() {
	p := pr.p
	eps := p.InternalEndpoints()
	if len(eps) == 0 {
		target, comment := pr.filterTarget()
		for _, ip := range p.ClusterIPs {
			pr.shared(iptables.TableFilter, ChainServices, pr.rule(ip32(ip), comment).
				add("-m", pr.proto, "--dport", itoa(p.Port), "-j", target))
		}
		return
	}
	for _, ip := range p.ClusterIPs {
		pr.shared(iptables.TableNAT, pr.dispatchChain(ip), pr.rule(ip32(ip), "cluster IP").
			add("-m", pr.proto, "--dport", itoa(p.Port), "-j", p.SVCChain))
	}
	var rules []string
	if pr.clusterCIDR != "" {
		rules = append(rules, "! -s "+pr.clusterCIDR+" -m comment --comment "+
			quote(pr.name+" cluster IP")+" -j "+ChainMarkMasq)
	}
	rules = append(rules, pr.endpointRules(eps)...)
	pr.chain(p.SVCChain, rules)
}

// filterTarget returns the filter target and comment for traffic that has
// no endpoint: REJECT when the port has none at all, else DROP.
func (pr *portRenderer) filterTarget() (string, string) {
	if pr.p.HasEndpoints {
		return "DROP", "has no local endpoints"
	}
	if pr.breaks.BreakReject {
		return "DROP", "has no endpoints"
	}
	// The default reject type, spelled out as iptables-save prints it.
	return "REJECT --reject-with icmp-port-unreachable", "has no endpoints"
}

// external renders node port, external IP and load balancer IP traffic.
func (pr *portRenderer) external() {
	p := pr.p
	if !p.ExternallyAccessible() {
		return
	}
	if p.HasEndpoints {
		pr.extChain()
		for _, ip := range p.ExternalIPs {
			pr.shared(iptables.TableNAT, pr.dispatchChain(ip), pr.rule(ip32(ip), "external IP").
				add("-m", pr.proto, "--dport", itoa(p.Port), "-j", p.EXTChain))
		}
		pr.loadBalancerIPs()
		if p.NodePort != 0 {
			pr.shared(iptables.TableNAT, ChainNodePorts, pr.rule("", "").
				add("-m", pr.proto, "--dport", itoa(p.NodePort), "-j", p.EXTChain))
		}
	}
	if len(p.ExternalEndpoints()) > 0 {
		return
	}
	target, comment := pr.filterTarget()
	if p.NodePort != 0 {
		pr.shared(iptables.TableFilter, ChainExternalServices, pr.rule("", comment).
			add("-m", "addrtype", "--dst-type", "LOCAL", "-m", pr.proto, "--dport", itoa(p.NodePort), "-j", target))
	}
	for _, ips := range [][]netip.Addr{p.ExternalIPs, p.LoadBalancerIPs} {
		for _, ip := range ips {
			pr.shared(iptables.TableFilter, ChainExternalServices, pr.rule(ip32(ip), comment).
				add("-m", pr.proto, "--dport", itoa(p.Port), "-j", target))
		}
	}
}

// loadBalancerIPs renders the dispatch of load balancer IP traffic to the
// EXT chain, through the FW chain when the port has source ranges. The
// port has usable endpoints.
func (pr *portRenderer) loadBalancerIPs() {
	p := pr.p
	target := p.EXTChain
	if p.UsesFirewall() {
		target = p.FWChain
		pr.fwChain()
	}
	for _, ip := range p.LoadBalancerIPs {
		pr.shared(iptables.TableNAT, pr.dispatchChain(ip), pr.rule(ip32(ip), "loadbalancer IP").
			add("-m", pr.proto, "--dport", itoa(p.Port), "-j", target))
		if p.UsesFirewall() {
			pr.shared(iptables.TableFilter, ChainProxyFirewall, pr.rule(ip32(ip), "traffic not accepted by "+p.FWChain).
				add("-m", pr.proto, "--dport", itoa(p.Port), "-j", "DROP"))
		}
	}
}

// fwChain renders the FW chain, as kube-proxy's iptables mode does: the
// source ranges go on to the EXT chain, and so do the load balancer IPs as
// sources when a range holds the node (a node reaching a load balancer IP
// it holds locally sends from that IP). Everything else falls off the end
// without DNAT, still addressed to the load balancer IP, and
// ChainProxyFirewall drops it.
func (pr *portRenderer) fwChain() {
	p := pr.p
	comment := " -m comment --comment " + quote(pr.name+" loadbalancer IP") + " -j " + p.EXTChain
	rules := make([]string, 0, len(p.LoadBalancerSourceRanges)+len(p.LoadBalancerIPs)+1)
	for _, r := range p.LoadBalancerSourceRanges {
		rules = append(rules, "-s "+r.String()+comment)
	}
	if p.SourceRangesHoldNode {
		for _, ip := range p.LoadBalancerIPs {
			rules = append(rules, "-s "+ip32(ip)+comment)
		}
	}
	rules = append(rules, "-m comment --comment "+quote("other traffic to "+pr.name+" will be dropped by "+ChainProxyFirewall))
	pr.chain(p.FWChain, rules)
}

// extChain renders the EXT chain (and the CLU chain it needs when internal
// traffic is node-local). The port has usable endpoints.
func (pr *portRenderer) extChain() {
	p := pr.p
	clusterChain := p.SVCChain
	if p.InternalPolicyLocal {
		clusterChain = p.CLUChain
		pr.chain(p.CLUChain, pr.endpointRules(p.ClusterEndpoints))
	}
	ext := quote(pr.name + " external destinations")
	if !p.ExternalPolicyLocal {
		pr.chain(p.EXTChain, []string{
			"-m comment --comment " + quote("masquerade traffic for "+pr.name+" external destinations") + " -j " + ChainMarkMasq,
			"-m comment --comment " + ext + " -j " + clusterChain,
		})
		return
	}
	var rules []string
	if pr.clusterCIDR != "" {
		rules = append(rules, "-s "+pr.clusterCIDR+" -m comment --comment "+
			quote("pod traffic for "+pr.name+" external destinations")+" -j "+clusterChain)
	}
	rules = append(rules,
		"-m comment --comment "+quote("masquerade LOCAL traffic for "+pr.name+" external destinations")+
			" -m addrtype --src-type LOCAL -j "+ChainMarkMasq,
		"-m comment --comment "+quote("route LOCAL traffic for "+pr.name+" external destinations")+
			" -m addrtype --src-type LOCAL -j "+clusterChain,
	)
	rules = append(rules, pr.endpointRules(p.LocalEndpoints)...)
	pr.chain(p.EXTChain, rules)
}

// endpointRules returns the inline load-balancing rules over eps: with
// ClientIP affinity first one recent-list check per endpoint, then one
// DNAT rule per endpoint picked with probability 1/(remaining endpoints).
func (pr *portRenderer) endpointRules(eps []snapshot.Endpoint) []string {
	p := pr.p
	rules := make([]string, 0, 2*len(eps))
	prefix := "-p " + pr.proto + " -m comment --comment " + quote(pr.name)
	buf := make([]byte, 0, 256)
	dnat := func(ep snapshot.Endpoint) {
		buf = append(buf, " -j DNAT --to-destination "...)
		buf = ep.IP.AppendTo(buf)
		buf = append(buf, ':')
		buf = strconv.AppendInt(buf, int64(ep.Port), 10)
		rules = append(rules, string(buf))
	}
	var lists []string
	if p.SessionAffinityClientIP && !pr.breaks.BreakAffinity {
		lists = make([]string, len(eps))
		seconds := itoa(p.StickyMaxAgeSeconds)
		for i, ep := range eps {
			lists[i] = p.AffinityList(ep)
			buf = append(buf[:0], prefix...)
			buf = append(buf, " -m recent --update --seconds "...)
			buf = append(buf, seconds...)
			buf = append(buf, " --reap --name "...)
			buf = append(buf, lists[i]...)
			buf = append(buf, " --mask 255.255.255.255 --rsource"...)
			dnat(ep)
		}
	}
	for i, ep := range eps {
		buf = append(buf[:0], prefix...)
		if n := len(eps) - i; n > 1 {
			buf = append(buf, " -m statistic --mode random --probability "...)
			buf = append(buf, probability(n)...)
		}
		if lists != nil {
			buf = append(buf, " -m recent --set --name "...)
			buf = append(buf, lists[i]...)
			buf = append(buf, " --mask 255.255.255.255 --rsource"...)
		}
		dnat(ep)
	}
	return rules
}

// rule starts a rule spec for this port: an optional destination, the
// protocol and a comment naming the port (and what the rule is for).
func (pr *portRenderer) rule(dst, what string) *ruleBuilder {
	rb := &ruleBuilder{}
	if dst != "" {
		rb.add("-d", dst)
	}
	comment := pr.name
	if what != "" {
		comment += " " + what
	}
	return rb.add("-p", pr.proto, "-m", "comment", "--comment", quote(comment))
}

// shared adds a rule to a shared chain.
func (pr *portRenderer) shared(table iptables.Table, chain string, rb *ruleBuilder) {
	pr.sr.Shared = append(pr.sr.Shared, Rule{Table: table, Chain: chain, Spec: rb.String()})
}

// chain adds one of the port's own nat chains.
func (pr *portRenderer) chain(name string, rules []string) {
	pr.sr.Chains = append(pr.sr.Chains, Chain{Table: iptables.TableNAT, Name: name, Rules: rules})
}

// hairpinIPs returns the addresses of p's usable endpoints that may be on
// this node (local ones and ones without a node name).
func hairpinIPs(p *snapshot.ServicePort) []netip.Addr {
	var ips []netip.Addr
	for _, set := range [][]snapshot.Endpoint{p.ClusterEndpoints, p.LocalEndpoints} {
		for _, ep := range set {
			if ep.Local || ep.NodeName == "" {
				ips = append(ips, ep.IP)
			}
		}
	}
	return ips
}

func ip32(a netip.Addr) string { return a.String() + "/32" }

func itoa(n int32) string { return strconv.Itoa(int(n)) }
