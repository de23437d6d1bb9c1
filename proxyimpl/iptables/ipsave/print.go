package ipsave

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// alwaysQuoted are options whose value iptables-save always quotes.
var alwaysQuoted = map[string]bool{"--comment": true, "--log-prefix": true}

// quoteWord quotes w for a restore line when it would not survive
// splitting on its own, or when force is set.
func quoteWord(w string, force bool) string {
	need := force || w == ""
	for i := 0; i < len(w) && !need; i++ {
		c := w[i]
		need = c <= ' ' || c >= 0x7f || c == '"' || c == '\\'
	}
	if !need {
		return w
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(w) + `"`
}

// joinWords quotes and joins words with single spaces.
func joinWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = quoteWord(w, i > 0 && alwaysQuoted[words[i-1]])
	}
	return strings.Join(q, " ")
}

// Args returns the rule's words in iptables-save order, without counters:
// -s, -d, -i, -o, -p, the matches, the target.
func (r *Rule) Args() []string {
	var a []string
	neg := func(n bool) {
		if n {
			a = append(a, "!")
		}
	}
	if r.Source != nil {
		neg(r.Source.Negate)
		a = append(a, "-s", r.Source.CIDR)
	}
	if r.Destination != nil {
		neg(r.Destination.Negate)
		a = append(a, "-d", r.Destination.CIDR)
	}
	for _, s := range []struct {
		flag string
		m    *StringMatch
	}{{"-i", r.InInterface}, {"-o", r.OutInterface}, {"-p", r.Protocol}} {
		if s.m != nil {
			neg(s.m.Negate)
			a = append(a, s.flag, s.m.Value)
		}
	}
	for _, m := range r.Matches {
		a = append(a, "-m", m.Module())
		a = append(a, m.Args()...)
	}
	return append(a, r.Target.Args()...)
}

// String returns the rule as restore text, without counters.
func (r *Rule) String() string {
	return joinWords(r.Args())
}

// Args returns "-j NAME options..." (or -g), nil without a target.
func (t Target) Args() []string {
	if t.Name == "" {
		return nil
	}
	a := []string{"-j", t.Name}
	if t.Goto {
		a[0] = "-g"
	}
	if t.ToDestination != "" {
		a = append(a, "--to-destination", t.ToDestination)
	}
	if t.ToSource != "" {
		a = append(a, "--to-source", t.ToSource)
	}
	if t.Mark != nil {
		a = append(a, "--set-xmark", fmt.Sprintf("0x%x/0x%x", t.Mark.Value, t.Mark.Mask))
	}
	if t.RandomFully {
		a = append(a, "--random-fully")
	}
	if t.RejectWith != "" {
		a = append(a, "--reject-with", t.RejectWith)
	}
	return append(a, t.Options...)
}

func negWord(a []string, n bool) []string {
	if n {
		return append(a, "!")
	}
	return a
}

func portWords(a []string, flag string, p *PortRange) []string {
	if p == nil {
		return a
	}
	v := strconv.Itoa(int(p.First))
	if p.Last != p.First {
		v += ":" + strconv.Itoa(int(p.Last))
	}
	return append(negWord(a, p.Negate), flag, v)
}

// Module implements Match.
func (m *PortMatch) Module() string { return m.Protocol }

// Args implements Match.
func (m *PortMatch) Args() []string {
	return portWords(portWords(nil, "--sport", m.SourcePort), "--dport", m.DestinationPort)
}

// Module implements Match.
func (m *CommentMatch) Module() string { return "comment" }

// Args implements Match.
func (m *CommentMatch) Args() []string { return []string{"--comment", m.Comment} }

// Module implements Match.
func (m *AddrTypeMatch) Module() string { return "addrtype" }

// Args implements Match.
func (m *AddrTypeMatch) Args() []string {
	var a []string
	if m.SrcType != nil {
		a = append(negWord(a, m.SrcType.Negate), "--src-type", m.SrcType.Type)
	}
	if m.DstType != nil {
		a = append(negWord(a, m.DstType.Negate), "--dst-type", m.DstType.Type)
	}
	return a
}

// Module implements Match.
func (m *MarkMatch) Module() string { return "mark" }

// Args implements Match.
func (m *MarkMatch) Args() []string {
	v := fmt.Sprintf("0x%x", m.Value)
	if m.Mask != math.MaxUint32 {
		v += fmt.Sprintf("/0x%x", m.Mask)
	}
	return append(negWord(nil, m.Negate), "--mark", v)
}

// Module implements Match.
func (m *ConntrackMatch) Module() string { return "conntrack" }

// Args implements Match.
func (m *ConntrackMatch) Args() []string {
	return append(negWord(nil, m.Negate), "--ctstate", strings.Join(m.States, ","))
}

// Module implements Match.
func (m *StatisticMatch) Module() string { return "statistic" }

// Args implements Match.
func (m *StatisticMatch) Args() []string {
	// iptables-save prints 11 decimals; fall back to the shortest exact
	// form where 11 would lose precision, so the text parses back exactly.
	p := strconv.FormatFloat(m.Probability, 'f', 11, 64)
	if v, _ := strconv.ParseFloat(p, 64); v != m.Probability {
		p = strconv.FormatFloat(m.Probability, 'f', -1, 64)
	}
	return append(negWord([]string{"--mode", m.Mode}, m.Negate), "--probability", p)
}

// Module implements Match.
func (m *RecentMatch) Module() string { return "recent" }

// Args implements Match.
func (m *RecentMatch) Args() []string {
	a := append(negWord(nil, m.Negate), "--"+m.Command)
	if m.Seconds > 0 {
		a = append(a, "--seconds", strconv.Itoa(m.Seconds))
	}
	if m.Reap {
		a = append(a, "--reap")
	}
	a = append(a, "--name", m.Name, "--mask", m.Mask)
	if m.Dest {
		return append(a, "--rdest")
	}
	return append(a, "--rsource")
}

// Module implements Match.
func (m *UnknownMatch) Module() string { return m.Name }

// Args implements Match.
func (m *UnknownMatch) Args() []string { return m.Options }

// String prints the dump as iptables-save does (chain counters always,
// rule counters where the rule has them), one block per table.
func (d *Dump) String() string {
	var b strings.Builder
	for _, t := range d.Tables {
		b.WriteString(t.String())
	}
	return b.String()
}

// String prints one table's "*table ... COMMIT" block.
func (t *Table) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s\n", t.Name)
	for _, c := range t.Chains {
		fmt.Fprintf(&b, ":%s %s [%d:%d]\n", c.Name, c.Policy, c.Counters.Packets, c.Counters.Bytes)
	}
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			b.WriteString(RuleLine(string(OpAppend), c.Name, 0, r))
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// RuleLine prints one rule as a restore line: op ("-A", "-I", "-D"),
// the chain, a rule number when num > 0, and the rule.
func RuleLine(op string, chain ChainName, num int, r *Rule) string {
	var b strings.Builder
	if r != nil && r.Counters != nil {
		fmt.Fprintf(&b, "[%d:%d] ", r.Counters.Packets, r.Counters.Bytes)
	}
	fmt.Fprintf(&b, "%s %s", op, chain)
	if num > 0 {
		fmt.Fprintf(&b, " %d", num)
	}
	if r != nil {
		if s := r.String(); s != "" {
			b.WriteString(" " + s)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// String prints the script as iptables-restore input.
func (s *Script) String() string {
	var b strings.Builder
	for _, t := range s.Tables {
		fmt.Fprintf(&b, "*%s\n", t.Name)
		for _, op := range t.Ops {
			switch op.Kind {
			case OpDeclare:
				fmt.Fprintf(&b, ":%s %s", op.Chain, op.Policy)
				if op.Counters != nil {
					fmt.Fprintf(&b, " [%d:%d]", op.Counters.Packets, op.Counters.Bytes)
				}
				b.WriteString("\n")
			case OpFlush, OpDeleteChain, OpNewChain:
				b.WriteString(strings.TrimSpace(string(op.Kind)+" "+string(op.Chain)) + "\n")
			default:
				b.WriteString(RuleLine(string(op.Kind), op.Chain, op.Num, op.Rule))
			}
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}
