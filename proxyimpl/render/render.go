package render

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// Render renders every port of snap.
func Render(cfg Config, snap *snapshot.Snapshot) *RuleSet {
	return RenderChanged(cfg, snap, nil, nil)
}

// RenderChanged renders the ports of snap named in changed and reuses prev's
// rules for the others; with a nil prev it renders every port, and so it
// does when the number of ports left the window of prev's dispatch tree
// (see nextDispatchBits): check SameDispatch before writing the result as
// a partial sync. Ports of prev
// that are not in snap are dropped. prev must come from the same Config and
// the same cluster CIDRs (after a change of either, use Render). prev is not
// modified; the result shares unchanged ServiceRules with it. A port
// whose rules iptables would refuse (see unrenderable) gets no rules: it
// is in the result's Skipped, with the reason, and not in its Services.
func RenderChanged(cfg Config, snap *snapshot.Snapshot, prev *RuleSet, changed map[snapshot.ServicePortName]bool) *RuleSet {
	bits := dispatchBits(cfg, snap, prev)
	if prev != nil && prev.DispatchBits != bits {
		// The tree was re-balanced: every port's dispatch rules move.
		prev = nil
	}
	r := newRenderer(cfg, snap, bits)
	rs := &RuleSet{
		Global:       r.globalChains(),
		DispatchBits: bits,
		Services:     make(map[snapshot.ServicePortName]*ServiceRules, len(snap.Ports)),
	}
	reused := 0
	for name, port := range snap.Ports {
		if prev != nil && !changed[name] {
			if old, ok := prev.Services[name]; ok {
				rs.Services[name] = old
				reused++
				continue
			}
		}
		sr := r.servicePort(port)
		if msg := unrenderable(sr); msg != "" {
			if rs.Skipped == nil {
				rs.Skipped = map[snapshot.ServicePortName]string{}
			}
			rs.Skipped[name] = msg
			continue
		}
		rs.Services[name] = sr
	}
	if prev != nil && !hairpinChanged(prev, rs, changed, reused) {
		// Only the changed ports can change the hairpin addresses:
		// rebuilding the chain from every port would make a one-port
		// change cost as much as the whole node's endpoints.
		rs.Hairpin = prev.Hairpin
	} else {
		rs.Hairpin = r.hairpinChain(rs.Services)
	}
	return rs
}

// hairpinChanged reports whether the hairpin addresses of next may differ
// from prev's: a changed port's differ (a port that appeared or went counts
// with its addresses), or a port came or went without being named in
// changed (reused is how many of prev's ports next took over unchanged).
func hairpinChanged(prev, next *RuleSet, changed map[snapshot.ServicePortName]bool, reused int) bool {
	ips := func(sr *ServiceRules) []netip.Addr {
		if sr == nil {
			return nil
		}
		return sr.HairpinIPs
	}
	inPrev, inNext := 0, 0
	for name, ok := range changed {
		if !ok {
			continue
		}
		if prev.Services[name] != nil {
			inPrev++
		}
		if next.Services[name] != nil {
			inNext++
		}
		if !slices.Equal(ips(prev.Services[name]), ips(next.Services[name])) {
			return true
		}
	}
	// Every port of prev and of next is either taken over or changed;
	// one that came or went unannounced may move a hairpin address.
	return reused+inPrev != len(prev.Services) || reused+inNext != len(next.Services)
}

// dispatchBits returns the dispatch tree size for snap: flat under
// cfg.FlatDispatch, else kept from prev while the number of ports stays
// in its window, else sized from it.
func dispatchBits(cfg Config, snap *snapshot.Snapshot, prev *RuleSet) int {
	if cfg.FlatDispatch {
		return 0
	}
	if prev == nil {
		return idealDispatchBits(len(snap.Ports))
	}
	return nextDispatchBits(prev.DispatchBits, len(snap.Ports))
}

// renderer holds what every rule of one rendering needs.
type renderer struct {
	mark        string // "0x4000"
	clusterCIDR string // first IPv4 cluster CIDR, or ""
	breaks      Config // the Break fields of the Config
	bits        int    // dispatch tree size, see RuleSet.DispatchBits
	v6          bool   // the Service addresses are IPv6 ones
}

func newRenderer(cfg Config, snap *snapshot.Snapshot, bits int) *renderer {
	mark := cfg.MasqueradeMark
	if mark == 0 {
		mark = DefaultMasqueradeMark
	}
	r := &renderer{mark: fmt.Sprintf("%#x", mark), breaks: cfg, bits: bits}
	if len(snap.ClusterCIDRs) > 0 {
		r.clusterCIDR = snap.ClusterCIDRs[0].String()
	}
	for _, p := range snap.Ports {
		if len(p.ClusterIPs) > 0 {
			r.v6 = p.ClusterIPs[0].Is6()
			break
		}
	}
	return r
}

// sharedChains are the global chains that hold per-port rules.
var sharedChains = map[tableChain]bool{
	{iptables.TableNAT, ChainServices}:            true,
	{iptables.TableNAT, ChainNodePorts}:           true,
	{iptables.TableFilter, ChainServices}:         true,
	{iptables.TableFilter, ChainExternalServices}: true,
	{iptables.TableFilter, ChainNodePorts}:        true,
	{iptables.TableFilter, ChainProxyFirewall}:    true,
}

// tableChain identifies a chain across tables.
type tableChain struct {
	table iptables.Table
	chain string
}

// globalChains returns the global chains with their fixed rules, filter
// table first, in declaration order.
func (r *renderer) globalChains() []Chain {
	masqMatch := r.mark + "/" + r.mark
	buckets, jumps := r.dispatchChains()
	chains := []Chain{
		{Table: iptables.TableFilter, Name: ChainServices},
		{Table: iptables.TableFilter, Name: ChainExternalServices},
		{Table: iptables.TableFilter, Name: ChainNodePorts},
		{Table: iptables.TableFilter, Name: ChainProxyFirewall},
		{Table: iptables.TableFilter, Name: ChainForward, Rules: []string{
			// As kube-proxy without nf_conntrack_tcp_be_liberal: a packet
			// of a DNATed connection that conntrack finds INVALID (a TCP
			// segment outside the window) skips nat and would leave the
			// node with the endpoint's address, and the client's RST to
			// that address would reset the connection.
			"-m comment --comment " + quote("svccheck drop conntrack INVALID packets") + " -m conntrack --ctstate INVALID -j DROP",
			"-m comment --comment " + quote("svccheck forwarding rules") + " -m mark --mark " + masqMatch + " -j ACCEPT",
			"-m comment --comment " + quote("svccheck forwarding conntrack rule") + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		}},
		{Table: iptables.TableNAT, Name: ChainServices, Rules: append(jumps,
			"-m comment --comment "+quote("svccheck service nodeports; NOTE: this must be the last rule in this chain")+
				" -m addrtype --dst-type LOCAL -j "+ChainNodePorts,
		)},
		{Table: iptables.TableNAT, Name: ChainNodePorts},
		{Table: iptables.TableNAT, Name: ChainMarkMasq, Rules: []string{
			"-m comment --comment " + quote("svccheck mark for masquerade") + " -j MARK --set-xmark " + r.mark + "/" + r.mark,
		}},
		{Table: iptables.TableNAT, Name: ChainPostrouting, Rules: []string{
			"-m comment --comment " + quote("svccheck hairpin traffic") + " -m conntrack --ctstate DNAT -j " + ChainHairpin,
			"-m comment --comment " + quote("svccheck unmarked traffic") + " -m mark ! --mark " + masqMatch + " -j RETURN",
			"-m comment --comment " + quote("svccheck clear mark") + " -j MARK --set-xmark 0x0/" + r.mark,
			"-m comment --comment " + quote("svccheck service traffic requiring SNAT") + " -j MASQUERADE --random-fully",
		}},
	}
	return append(chains, buckets...)
}

// hairpinChain builds the hairpin chain from the ports' hairpin addresses:
// one rule per unique address, sorted, its comment naming the Service ports
// the address is a local endpoint of.
func (r *renderer) hairpinChain(services map[snapshot.ServicePortName]*ServiceRules) Chain {
	owners := map[netip.Addr][]snapshot.ServicePortName{}
	for name, sr := range services {
		for _, a := range sr.HairpinIPs {
			owners[a] = append(owners[a], name)
		}
	}
	ips := slices.SortedFunc(maps.Keys(owners), netip.Addr.Compare)
	c := Chain{Table: iptables.TableNAT, Name: ChainHairpin, Rules: make([]string, 0, len(ips))}
	for _, a := range ips {
		ip := a.String() + "/32"
		c.Rules = append(c.Rules, "-s "+ip+" -d "+ip+" -m comment --comment "+
			quote(hairpinComment(a, owners[a]))+" -j "+ChainMarkMasq)
	}
	return c
}

// hairpinComment is the comment of the hairpin rule of address a, a local
// endpoint of the ports owners: "svccheck hairpin 10.244.1.5 for ns/a:http,
// ns/b:dns and 2 more", naming as many ports, sorted, as fit in an
// iptables comment.
func hairpinComment(a netip.Addr, owners []snapshot.ServicePortName) string {
	names := make([]string, 0, len(owners))
	for _, o := range owners {
		names = append(names, o.String())
	}
	slices.Sort(names)
	names = slices.Compact(names) // a TCP and a UDP port of one name
	head := "svccheck hairpin " + a.String()
	text := head
	for i, n := range names {
		sep := " for "
		if i > 0 {
			sep = ", "
		}
		more := ""
		if rest := len(names) - i - 1; rest > 0 {
			more = fmt.Sprintf(" and %d more", rest)
		}
		// Room for this name and, should names follow, the count of
		// those left out.
		if len(text)+len(sep)+len(n)+len(more) > maxCommentLen {
			if i == 0 {
				return head + fmt.Sprintf(" for %d Service ports", len(names))
			}
			return text + fmt.Sprintf(" and %d more", len(names)-i)
		}
		text += sep + n
	}
	return text
}
