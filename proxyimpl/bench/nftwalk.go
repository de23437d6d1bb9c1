package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// nftRuleset is the part of `nft -j list ruleset` a first packet's walk
// needs: chains with their rules, and named sets and maps.
type nftRuleset struct {
	chains map[string]*nftChain // by family/table/name
	sets   map[string][]any     // elements, by family/table/name
}

// nftChain is one chain; a base chain has a hook and a priority.
type nftChain struct {
	Family string `json:"family"`
	Table  string `json:"table"`
	Name   string `json:"name"`
	Hook   string `json:"hook"`
	Prio   int    `json:"prio"`
	Policy string `json:"policy"`
	rules  [][]map[string]any
}

// parseNFT reads the JSON of `nft -j list ruleset`.
func parseNFT(data []byte) (*nftRuleset, error) {
	var doc struct {
		NFTables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing nft ruleset: %w", err)
	}
	rs := &nftRuleset{chains: map[string]*nftChain{}, sets: map[string][]any{}}
	for _, obj := range doc.NFTables {
		if err := rs.add(obj); err != nil {
			return nil, fmt.Errorf("parsing nft ruleset: %w", err)
		}
	}
	return rs, nil
}

// add adds one object of the ruleset: a chain, a rule, a set or a map.
// Chains come before their rules in nft's output.
func (rs *nftRuleset) add(obj map[string]json.RawMessage) error {
	for _, kind := range []string{"set", "map"} {
		if raw, ok := obj[kind]; ok {
			var s struct {
				Family, Table, Name string
				Elem                []any
			}
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
			rs.sets[s.Family+"/"+s.Table+"/"+s.Name] = s.Elem
		}
	}
	if raw, ok := obj["chain"]; ok {
		c := &nftChain{}
		if err := json.Unmarshal(raw, c); err != nil {
			return err
		}
		rs.chains[c.Family+"/"+c.Table+"/"+c.Name] = c
	}
	if raw, ok := obj["rule"]; ok {
		var r struct {
			Family, Table, Chain string
			Expr                 []map[string]any
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		c := rs.chains[r.Family+"/"+r.Table+"/"+r.Chain]
		if c == nil {
			return fmt.Errorf("rule of unknown chain %s %s %s", r.Family, r.Table, r.Chain)
		}
		c.rules = append(c.rules, r.Expr)
	}
	return nil
}

// nftPacket is the first packet of a TCP connection, arriving from
// outside the node (a pod), walked through the prerouting hook.
type nftPacket struct {
	src, dst netip.Addr
	dport    uint16
	// local are the node's addresses, for fib matches.
	local []netip.Addr
	mark  uint32
}

// errNoMatch ends the evaluation of a rule whose match failed.
var errNoMatch = errors.New("no match")

// walkNFT walks p through every prerouting base chain of rs (families ip
// and inet) in priority order, as the kernel does, and returns the number
// of rules evaluated before the rule that DNATs it (matched or not, jumps
// followed, a verdict map lookup one rule, the DNAT rule not counted).
func walkNFT(rs *nftRuleset, p nftPacket) (int, error) {
	var bases []*nftChain
	for _, c := range rs.chains {
		if c.Hook == "prerouting" && (c.Family == "ip" || c.Family == "inet") {
			bases = append(bases, c)
		}
	}
	slices.SortFunc(bases, func(a, b *nftChain) int { return a.Prio - b.Prio })
	walked := 0
	for _, base := range bases {
		dnat, verdict, err := rs.walkChain(base, &p, &walked, 0)
		if err != nil {
			return 0, err
		}
		if dnat {
			return walked, nil
		}
		if verdict == "" {
			verdict = base.Policy
		}
		if verdict != "accept" {
			return 0, fmt.Errorf("packet to %s: %s in base chain %s", p.dst, verdict, base.Name)
		}
	}
	return 0, fmt.Errorf("packet to %s: no rule DNATs it (%d rules walked)", p.dst, walked)
}

// walkChain walks p through c's rules, counting them in walked, and
// returns whether a rule DNATed it, else the verdict that ended c ("" for
// its end or a return).
func (rs *nftRuleset) walkChain(c *nftChain, p *nftPacket, walked *int, depth int) (bool, string, error) {
	if depth > 32 {
		return false, "", fmt.Errorf("chain %s: jumps nest more than 32 deep", c.Name)
	}
	for i, rule := range c.rules {
		dnat, verdict, target, err := rs.evalRule(c, rule, p)
		if errors.Is(err, errNoMatch) {
			*walked++
			continue
		}
		if err != nil {
			return false, "", fmt.Errorf("chain %s rule %d: %w", c.Name, i+1, err)
		}
		if dnat {
			return true, "", nil
		}
		*walked++
		switch verdict {
		case "":
			continue
		case "return":
			return false, "", nil
		case "jump", "goto":
			next := rs.chains[c.Family+"/"+c.Table+"/"+target]
			if next == nil {
				return false, "", fmt.Errorf("chain %s rule %d: %s to unknown chain %s", c.Name, i+1, verdict, target)
			}
			dnat, v, err := rs.walkChain(next, p, walked, depth+1)
			if err != nil || dnat || v != "" || verdict == "goto" {
				return dnat, v, err
			}
		default:
			return false, verdict, nil
		}
	}
	return false, "", nil
}

// evalRule evaluates one rule's statements on p, in order. It returns
// errNoMatch when a match fails (or a verdict map has no entry), whether
// the rule DNATs, and the verdict it gives with its target chain.
func (rs *nftRuleset) evalRule(c *nftChain, rule []map[string]any, p *nftPacket) (dnat bool, verdict, target string, err error) {
	for _, stmt := range rule {
		for kind, arg := range stmt {
			switch kind {
			case "match":
				m, _ := arg.(map[string]any)
				ok, err := rs.match(c, m, p)
				if err != nil {
					return false, "", "", err
				}
				if !ok {
					return false, "", "", errNoMatch
				}
			case "vmap":
				m, _ := arg.(map[string]any)
				v, err := rs.lookup(c, m["key"], m["data"], p)
				if err != nil {
					return false, "", "", err
				}
				if v == nil {
					return false, "", "", errNoMatch
				}
				return verdictOf(v)
			case "dnat":
				return true, "", "", nil
			case "counter", "comment":
			case "mangle":
				if err := p.mangle(arg); err != nil {
					return false, "", "", err
				}
			case "jump", "goto", "accept", "drop", "return", "continue":
				return verdictOf(stmt)
			default:
				return false, "", "", fmt.Errorf("statement %q is not understood here", kind)
			}
		}
	}
	return false, "", "", nil
}

// verdictOf reads a verdict object such as {"goto": {"target": "x"}}.
func verdictOf(v any) (bool, string, string, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, "", "", fmt.Errorf("verdict %v is not understood", v)
	}
	for kind, arg := range m {
		if kind == "continue" {
			return false, "", "", nil
		}
		t, _ := arg.(map[string]any)
		target, _ := t["target"].(string)
		return false, kind, target, nil
	}
	return false, "", "", nil
}

// mangle applies a "meta mark set" statement to p.
func (p *nftPacket) mangle(arg any) error {
	m, _ := arg.(map[string]any)
	key, _ := m["key"].(map[string]any)
	if meta, _ := key["meta"].(map[string]any); meta == nil || meta["key"] != "mark" {
		return fmt.Errorf("mangle of %v is not understood", m["key"])
	}
	v, err := p.value(m["value"])
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("mark value %q: %w", v, err)
	}
	p.mark = uint32(n)
	return nil
}
