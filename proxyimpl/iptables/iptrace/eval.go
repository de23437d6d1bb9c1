package iptrace

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// outcome is one branch of evaluating a rule's matches.
type outcome struct {
	st      *pstate
	matched bool
	// notable is set on a non-match decided by a statistic or recent
	// match, which the trace records.
	notable bool
}

// evalRule evaluates r's matches on st. A statistic match forks: the
// outcomes are the branches, each on its own state.
func (t *Tracer) evalRule(st *pstate, r *ipsave.Rule) ([]outcome, error) {
	ok, err := t.basic(st, r)
	if err != nil || !ok {
		return []outcome{{st: st}}, err
	}
	return t.evalFrom(st, r.Matches)
}

func (t *Tracer) evalFrom(st *pstate, ms []ipsave.Match) ([]outcome, error) {
	if len(ms) == 0 {
		return []outcome{{st: st, matched: true}}, nil
	}
	if sm, ok := ms[0].(*ipsave.StatisticMatch); ok {
		p := sm.Probability
		if sm.Negate {
			p = 1 - p
		}
		var out []outcome
		if p > 0 {
			hit := st.clone()
			hit.path.Probability *= p
			rest, err := t.evalFrom(hit, ms[1:])
			if err != nil {
				return nil, err
			}
			out = append(out, rest...)
		}
		if p < 1 {
			st.path.Probability *= 1 - p
			out = append(out, outcome{st: st, notable: true})
		}
		return out, nil
	}
	ok, err := t.match(st, ms[0])
	if err != nil || !ok {
		_, recent := ms[0].(*ipsave.RecentMatch)
		return []outcome{{st: st, notable: recent}}, err
	}
	return t.evalFrom(st, ms[1:])
}

// basic evaluates -s, -d, -p, -i and -o.
func (t *Tracer) basic(st *pstate, r *ipsave.Rule) (bool, error) {
	for _, am := range []struct {
		m *ipsave.AddrMatch
		a netip.Addr
	}{{r.Source, st.src}, {r.Destination, st.dst}} {
		if am.m == nil {
			continue
		}
		in, err := ipsave.AddrMatches(am.m.CIDR, am.a)
		if err != nil {
			return false, fmt.Errorf("bad address match: %w", err)
		}
		if in == am.m.Negate {
			return false, nil
		}
	}
	if p := r.Protocol; p != nil && protoMatches(p.Value, st.proto) == p.Negate {
		return false, nil
	}
	if m := r.InInterface; m != nil {
		ifc, err := st.inIface()
		if err != nil {
			return false, err
		}
		if ifaceMatches(m.Value, ifc) == m.Negate {
			return false, nil
		}
	}
	if m := r.OutInterface; m != nil {
		ifc, err := st.outIface()
		if err != nil {
			return false, err
		}
		if ifaceMatches(m.Value, ifc) == m.Negate {
			return false, nil
		}
	}
	return true, nil
}

// protoNumbers maps protocol numbers to the names the tracer knows.
var protoNumbers = map[string]string{"6": "tcp", "17": "udp", "132": "sctp"}

func protoMatches(rule, pkt string) bool {
	if n, ok := protoNumbers[rule]; ok {
		rule = n
	}
	return rule == "all" || rule == "0" || rule == pkt
}

func ifaceMatches(rule, ifc string) bool {
	if p, ok := strings.CutSuffix(rule, "+"); ok {
		return strings.HasPrefix(ifc, p)
	}
	return rule == ifc
}

// inIface is the in-interface as the kernel sees it: none on the output
// path, "lo" for a local packet delivered locally.
func (s *pstate) inIface() (string, error) {
	switch {
	case s.hook == ipsave.ChainOutput || s.hook == ipsave.ChainPostrouting:
		return "", nil
	case s.local:
		return "lo", nil
	case s.inIf == "":
		return "", fmt.Errorf("rule matches -i but Packet.InInterface is not set")
	}
	return s.inIf, nil
}

// outIface is the out-interface as the kernel sees it: none before the
// routing decision of a forwarded packet, "lo" for local delivery.
func (s *pstate) outIface() (string, error) {
	switch {
	case s.hook == ipsave.ChainPrerouting || s.hook == ipsave.ChainInput:
		return "", nil
	case s.path.LocalDelivery:
		return "lo", nil
	case s.outIf == "":
		return "", fmt.Errorf("rule matches -o but Packet.OutInterface is not set")
	}
	return s.outIf, nil
}

// match evaluates one non-statistic match; -m recent may change st.
func (t *Tracer) match(st *pstate, m ipsave.Match) (bool, error) {
	switch m := m.(type) {
	case *ipsave.CommentMatch:
		return true, nil
	case *ipsave.PortMatch:
		if m.Protocol != st.proto {
			return false, nil
		}
		return portIn(m.SourcePort, st.sport) && portIn(m.DestinationPort, st.dport), nil
	case *ipsave.AddrTypeMatch:
		return t.addrType(st, m)
	case *ipsave.MarkMatch:
		return (st.path.Mark&m.Mask == m.Value) != m.Negate, nil
	case *ipsave.ConntrackMatch:
		states := []string{"NEW"}
		if st.path.DNAT {
			states = append(states, "DNAT")
		}
		if st.path.Masquerade {
			states = append(states, "SNAT")
		}
		hit := slices.ContainsFunc(m.States, func(s string) bool { return slices.Contains(states, s) })
		return hit != m.Negate, nil
	case *ipsave.RecentMatch:
		return t.recentMatch(st, m)
	}
	return false, fmt.Errorf("match -m %s %s is not supported by the tracer",
		m.Module(), strings.Join(m.Args(), " "))
}

func portIn(r *ipsave.PortRange, p uint16) bool {
	if r == nil {
		return true
	}
	return (p >= r.First && p <= r.Last) != r.Negate
}

// addrTypes are the address types the tracer can tell apart.
var addrTypes = []string{"LOCAL", "UNICAST", "BROADCAST", "MULTICAST"}

func (t *Tracer) addrType(st *pstate, m *ipsave.AddrTypeMatch) (bool, error) {
	for _, c := range []struct {
		want *ipsave.AddrType
		a    netip.Addr
	}{{m.SrcType, st.src}, {m.DstType, st.dst}} {
		if c.want == nil {
			continue
		}
		got := "UNICAST"
		switch {
		case t.isLocal(c.a):
			got = "LOCAL"
		case c.a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			got = "BROADCAST"
		case c.a.IsMulticast():
			got = "MULTICAST"
		}
		hit := false
		for _, w := range strings.Split(c.want.Type, ",") {
			if !slices.Contains(addrTypes, w) {
				return false, fmt.Errorf("address type %s is not supported by the tracer", w)
			}
			hit = hit || w == got
		}
		if hit == c.want.Negate {
			return false, nil
		}
	}
	return true, nil
}

func (t *Tracer) recentMatch(st *pstate, m *ipsave.RecentMatch) (bool, error) {
	mask, err := netip.ParseAddr(m.Mask)
	if err != nil {
		return false, fmt.Errorf("bad recent mask: %w", err)
	}
	a := st.src
	if m.Dest {
		a = st.dst
	}
	key := recentKey{list: m.Name, addr: maskAddr(a, mask)}
	found := false
	for k := range st.recent {
		if k.list == m.Name && maskAddr(k.addr, mask) == key.addr {
			found = true
			if m.Command == "remove" {
				delete(st.recent, k)
			}
		}
	}
	switch m.Command {
	case "set":
		st.recent[key] = true
		st.path.RecentSet = append(st.path.RecentSet, m.Name)
		found = true
	case "update", "rcheck", "remove":
	default:
		return false, fmt.Errorf("recent command %q is not supported by the tracer", m.Command)
	}
	return found != m.Negate, nil
}

// maskAddr applies a --mask address to a.
func maskAddr(a, mask netip.Addr) netip.Addr {
	if a.BitLen() != mask.BitLen() {
		return a
	}
	ab, mb := a.AsSlice(), mask.AsSlice()
	for i := range ab {
		ab[i] &= mb[i]
	}
	out, _ := netip.AddrFromSlice(ab)
	return out
}
