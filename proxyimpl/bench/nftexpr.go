package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The expressions of nft's JSON that walkNFT evaluates: the vocabulary of
// kube-proxy's nftables mode on a ClusterIP packet's way. Anything else
// is an error, never silently true or false. Values are compared in a
// canonical text form: addresses as netip prints them, numbers in decimal,
// protocols by number, concatenations joined by " . ".

// value evaluates expression e on p.
func (p *nftPacket) value(e any) (string, error) {
	switch v := e.(type) {
	case string, float64:
		return canon(v), nil
	case map[string]any:
		for kind, arg := range v {
			return p.valueOf(kind, arg)
		}
	}
	return "", fmt.Errorf("expression %v is not understood", e)
}

// valueOf evaluates the expression {kind: arg}.
func (p *nftPacket) valueOf(kind string, arg any) (string, error) {
	a, _ := arg.(map[string]any)
	switch kind {
	case "payload":
		switch fmt.Sprint(a["protocol"], " ", a["field"]) {
		case "ip saddr":
			return p.src.String(), nil
		case "ip daddr":
			return p.dst.String(), nil
		case "th dport", "tcp dport":
			return strconv.Itoa(int(p.dport)), nil
		}
	case "meta":
		switch a["key"] {
		case "l4proto", "protocol":
			return "6", nil
		case "mark":
			return strconv.FormatUint(uint64(p.mark), 10), nil
		}
	case "ct":
		switch a["key"] {
		case "state":
			return "new", nil
		case "status":
			return "", nil // no status bits on a connection's first packet
		}
	case "fib":
		if flags, _ := a["flags"].([]any); a["result"] == "type" && len(flags) == 1 {
			addr := p.dst
			if flags[0] == "saddr" {
				addr = p.src
			}
			if addr.IsLoopback() || slices.Contains(p.local, addr) {
				return "local", nil
			}
			return "unicast", nil
		}
	case "concat":
		list, _ := arg.([]any)
		parts := make([]string, len(list))
		for i, e := range list {
			v, err := p.value(e)
			if err != nil {
				return "", err
			}
			parts[i] = v
		}
		return strings.Join(parts, " . "), nil
	case "&", "|", "^":
		return p.bitwise(kind, arg)
	}
	return "", fmt.Errorf("expression %s %v is not understood", kind, arg)
}

// bitwise evaluates {"&": [a, b]} and its like on numbers.
func (p *nftPacket) bitwise(op string, arg any) (string, error) {
	list, _ := arg.([]any)
	if len(list) != 2 {
		return "", fmt.Errorf("%s of %v is not understood", op, arg)
	}
	var n [2]uint64
	for i, e := range list {
		v, err := p.value(e)
		if err != nil {
			return "", err
		}
		if n[i], err = strconv.ParseUint(v, 10, 32); err != nil {
			return "", fmt.Errorf("%s of %v: %w", op, arg, err)
		}
	}
	switch op {
	case "&":
		return strconv.FormatUint(n[0]&n[1], 10), nil
	case "|":
		return strconv.FormatUint(n[0]|n[1], 10), nil
	}
	return strconv.FormatUint(n[0]^n[1], 10), nil
}

// canon is the canonical text of a literal.
func canon(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatUint(uint64(v), 10)
	case string:
		if a, err := netip.ParseAddr(v); err == nil {
			return a.String()
		}
		if n, ok := map[string]string{"tcp": "6", "udp": "17", "sctp": "132"}[v]; ok {
			return n
		}
		return v
	}
	return fmt.Sprint(v)
}

// match evaluates a match statement of chain c.
func (rs *nftRuleset) match(c *nftChain, m map[string]any, p *nftPacket) (bool, error) {
	left, err := p.value(m["left"])
	if err != nil {
		return false, err
	}
	in, err := rs.contains(c, m["right"], left, p)
	if err != nil {
		return false, err
	}
	switch m["op"] {
	case "==", "in":
		return in, nil
	case "!=":
		return !in, nil
	}
	return false, fmt.Errorf("match operator %v is not understood", m["op"])
}

// contains reports whether value v is right: equal to a literal, in a
// prefix or range, in a named ("@name") or anonymous set, or among a
// list of flags.
func (rs *nftRuleset) contains(c *nftChain, right any, v string, p *nftPacket) (bool, error) {
	if name, ok := right.(string); ok && strings.HasPrefix(name, "@") {
		elems, ok := rs.sets[c.Family+"/"+c.Table+"/"+name[1:]]
		if !ok {
			return false, fmt.Errorf("unknown set %s", name)
		}
		return anyElem(elems, v, p)
	}
	switch r := right.(type) {
	case []any:
		return anyElem(r, v, p)
	case map[string]any:
		if set, ok := r["set"].([]any); ok {
			return anyElem(set, v, p)
		}
	}
	return elemMatches(right, v, p)
}

// anyElem reports whether v matches one of elems.
func anyElem(elems []any, v string, p *nftPacket) (bool, error) {
	for _, e := range elems {
		ok, err := elemMatches(e, v, p)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// elemMatches reports whether v matches one set element: a literal, a
// concatenation, a prefix, or an element with a comment.
func elemMatches(e any, v string, p *nftPacket) (bool, error) {
	m, ok := e.(map[string]any)
	if !ok {
		return canon(e) == v, nil
	}
	if el, ok := m["elem"].(map[string]any); ok {
		return elemMatches(el["val"], v, p)
	}
	if pre, ok := m["prefix"].(map[string]any); ok {
		addr, err1 := netip.ParseAddr(fmt.Sprint(pre["addr"]))
		bits, _ := pre["len"].(float64)
		a, err2 := netip.ParseAddr(v)
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("prefix %v against %q is not understood", pre, v)
		}
		return netip.PrefixFrom(addr, int(bits)).Contains(a), nil
	}
	if _, ok := m["concat"]; ok {
		ev, err := p.value(e)
		return ev == v, err
	}
	return false, fmt.Errorf("set element %v is not understood", e)
}

// lookup looks key up in the verdict map data ("@name" or an anonymous
// map) and returns the verdict, nil when it has no entry.
func (rs *nftRuleset) lookup(c *nftChain, key, data any, p *nftPacket) (any, error) {
	k, err := p.value(key)
	if err != nil {
		return nil, err
	}
	var elems []any
	if name, ok := data.(string); ok && strings.HasPrefix(name, "@") {
		if elems, ok = rs.sets[c.Family+"/"+c.Table+"/"+name[1:]]; !ok {
			return nil, fmt.Errorf("unknown map %s", name)
		}
	} else if m, ok := data.(map[string]any); ok {
		elems, _ = m["set"].([]any)
	}
	for _, e := range elems {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("map element %v is not understood", e)
		}
		if ok, err := elemMatches(pair[0], k, p); err != nil || ok {
			return pair[1], err
		}
	}
	return nil, nil
}
