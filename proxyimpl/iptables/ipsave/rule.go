package ipsave

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// rawOpt is one "[!] --name values..." option before it is typed.
type rawOpt struct {
	name   string
	negate bool
	values []string
}

// rawModule is one "-m name" with the options that belong to it.
type rawModule struct {
	name string
	opts []rawOpt
}

// ruleParser holds the state of parsing one rule's words.
type ruleParser struct {
	words  []string
	i      int
	r      *Rule
	mods   []*rawModule
	cur    *rawModule
	target []rawOpt
	hasTgt bool
}

// ParseRule parses the words of one rule (what follows "-A CHAIN"), e.g.
// ParseRule("-d", "10.96.0.10/32", "-p", "tcp", "-m", "tcp", "--dport", "53",
// "-j", "SVCCHK-SVC-ABC"). Options that follow "-p tcp" without "-m tcp"
// load the tcp match implicitly, as iptables does.
func ParseRule(words ...string) (*Rule, error) {
	p := &ruleParser{words: words, r: &Rule{}}
	for p.i < len(p.words) {
		if err := p.word(); err != nil {
			return nil, err
		}
	}
	for _, m := range p.mods {
		p.r.Matches = append(p.r.Matches, typedMatch(m))
	}
	if p.hasTgt {
		if err := typeTarget(&p.r.Target, p.target); err != nil {
			return nil, err
		}
	}
	return p.r, nil
}

// next returns the next word as the value of opt.
func (p *ruleParser) next(opt string) (string, error) {
	if p.i >= len(p.words) {
		return "", fmt.Errorf("option %s wants a value", opt)
	}
	p.i++
	return p.words[p.i-1], nil
}

// word consumes one option with its values.
func (p *ruleParser) word() error {
	negate := false
	if p.words[p.i] == "!" {
		negate = true
		p.i++
		if p.i >= len(p.words) {
			return fmt.Errorf("\"!\" at end of rule")
		}
	}
	w := p.words[p.i]
	p.i++
	switch w {
	case "-s", "--source", "--src", "-d", "--destination", "--dst":
		return p.addr(w, negate)
	case "-p", "--protocol", "-i", "--in-interface", "-o", "--out-interface":
		return p.str(w, negate)
	case "-m", "--match":
		name, err := p.next(w)
		if err != nil || negate || !validName(name) {
			return fmt.Errorf("bad %s", w)
		}
		p.cur = &rawModule{name: name}
		p.mods = append(p.mods, p.cur)
		return nil
	case "-j", "--jump", "-g", "--goto":
		name, err := p.next(w)
		if err != nil || negate || p.hasTgt || !validName(name) {
			return fmt.Errorf("bad or second %s", w)
		}
		p.r.Target = Target{Name: name, Goto: w == "-g" || w == "--goto"}
		p.hasTgt, p.cur = true, nil
		return nil
	case "-c", "--set-counters":
		return p.counters(w, negate)
	}
	if !strings.HasPrefix(w, "--") || len(w) < 3 {
		return fmt.Errorf("unknown argument %q", w)
	}
	return p.option(w, negate)
}

// option files "--name values" under the target or a match module.
func (p *ruleParser) option(name string, negate bool) error {
	if p.hasTgt {
		if n, ok := targetArity[p.r.Target.Name][name]; ok {
			opt, err := p.values(name, negate, n)
			p.target = append(p.target, opt)
			return err
		}
	}
	owner := p.cur
	for i := len(p.mods) - 1; owner == nil && i >= 0; i-- {
		if _, ok := moduleArity[p.mods[i].name][name]; ok {
			owner = p.mods[i]
		}
	}
	if owner == nil && p.r.Protocol != nil && !p.r.Protocol.Negate {
		if _, ok := moduleArity[p.r.Protocol.Value][name]; ok {
			owner = &rawModule{name: p.r.Protocol.Value}
			p.mods = append(p.mods, owner)
		}
	}
	if owner == nil && !p.hasTgt {
		return fmt.Errorf("option %s belongs to no match", name)
	}
	// An option no table knows takes the words up to the next option.
	n := -1
	if owner != nil {
		if a, ok := moduleArity[owner.name][name]; ok {
			n = a
		}
	}
	opt, err := p.values(name, negate, n)
	if err != nil {
		return err
	}
	if owner == nil {
		p.target = append(p.target, opt)
	} else {
		owner.opts = append(owner.opts, opt)
	}
	return nil
}

// values reads n values, or when n < 0 every following word up to the next
// option.
func (p *ruleParser) values(name string, negate bool, n int) (rawOpt, error) {
	opt := rawOpt{name: name, negate: negate}
	for ; n != 0; n-- {
		if p.i >= len(p.words) {
			if n < 0 {
				break
			}
			return opt, fmt.Errorf("option %s wants a value", name)
		}
		v := p.words[p.i]
		if n < 0 && (v == "!" || strings.HasPrefix(v, "-")) {
			break
		}
		opt.values = append(opt.values, v)
		p.i++
	}
	return opt, nil
}

func (p *ruleParser) addr(w string, negate bool) error {
	v, err := p.next(w)
	if err != nil {
		return err
	}
	cidr, err := parseCIDR(v)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", w, err)
	}
	m := &AddrMatch{Negate: negate, CIDR: cidr}
	dst := &p.r.Source
	if strings.HasPrefix(w, "-d") || strings.HasPrefix(w, "--d") {
		dst = &p.r.Destination
	}
	if *dst != nil {
		return fmt.Errorf("%s given twice", w)
	}
	*dst = m
	p.cur = nil
	return nil
}

func (p *ruleParser) str(w string, negate bool) error {
	v, err := p.next(w)
	if err != nil || v == "" || strings.HasPrefix(v, "-") || v == "!" {
		return fmt.Errorf("option %s wants a value", w)
	}
	var dst **StringMatch
	switch w {
	case "-p", "--protocol":
		dst, v = &p.r.Protocol, strings.ToLower(v)
	case "-i", "--in-interface":
		dst = &p.r.InInterface
	default:
		dst = &p.r.OutInterface
	}
	if *dst != nil {
		return fmt.Errorf("%s given twice", w)
	}
	*dst = &StringMatch{Negate: negate, Value: v}
	p.cur = nil
	return nil
}

func (p *ruleParser) counters(w string, negate bool) error {
	pk, err1 := p.next(w)
	by, err2 := p.next(w)
	if err1 != nil || err2 != nil || negate || p.r.Counters != nil {
		return fmt.Errorf("%s wants PACKETS BYTES", w)
	}
	c, err := parseCounters("[" + pk + ":" + by + "]")
	if err != nil {
		return err
	}
	p.r.Counters = &c
	return nil
}

// parseCIDR canonicalises an address or prefix to its masked prefix form;
// an address with a mask that is not a prefix (10.0.0.5/0.0.0.127) to
// the masked address and the mask, as iptables-save prints it.
func parseCIDR(s string) (string, error) {
	if addr, mask, ok := strings.Cut(s, "/"); ok && strings.ContainsAny(mask, ".:") {
		a, m, err := parseAddrMask(addr, mask)
		if err != nil {
			return "", err
		}
		if bits := maskBits(m); bits >= 0 {
			return netip.PrefixFrom(a, bits).Masked().String(), nil
		}
		return applyMask(a, m).String() + "/" + m.String(), nil
	}
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return "", err
		}
		return pfx.Masked().String(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", err
	}
	if a.Zone() != "" {
		return "", fmt.Errorf("zoned address %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()).String(), nil
}

// parseUint32 parses a decimal or 0x-prefixed 32-bit value.
func parseUint32(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return uint32(v), nil
}

// parseAddrMask parses an address and a dotted (or IPv6) mask of its
// family.
func parseAddrMask(addr, mask string) (netip.Addr, netip.Addr, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return a, a, err
	}
	m, err := netip.ParseAddr(mask)
	if err != nil {
		return a, m, err
	}
	if a.BitLen() != m.BitLen() || a.Zone() != "" {
		return a, m, fmt.Errorf("bad address mask %s/%s", addr, mask)
	}
	return a, m, nil
}

// maskBits returns the prefix length mask m stands for, or -1 when its
// ones are not contiguous from the left.
func maskBits(m netip.Addr) int {
	b := m.AsSlice()
	n := 0
	for n < 8*len(b) && b[n/8]&(0x80>>(n%8)) != 0 {
		n++
	}
	for i := n; i < 8*len(b); i++ {
		if b[i/8]&(0x80>>(i%8)) != 0 {
			return -1
		}
	}
	return n
}

// applyMask returns a with only the bits of mask m kept.
func applyMask(a, m netip.Addr) netip.Addr {
	ab, mb := a.AsSlice(), m.AsSlice()
	for i := range ab {
		ab[i] &= mb[i]
	}
	out, _ := netip.AddrFromSlice(ab)
	return out
}

// AddrMatches reports whether a is in cidr, a canonical -s or -d value
// (a prefix, or an address and a non-prefix mask).
func AddrMatches(cidr string, a netip.Addr) (bool, error) {
	if addr, mask, ok := strings.Cut(cidr, "/"); ok && strings.ContainsAny(mask, ".:") {
		base, m, err := parseAddrMask(addr, mask)
		if err != nil {
			return false, err
		}
		return a.BitLen() == m.BitLen() && applyMask(a, m) == base, nil
	}
	pfx, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false, err
	}
	return pfx.Contains(a), nil
}
