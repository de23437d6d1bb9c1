package iptablestest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// builtinChains lists each table's built-in chains in iptables-save order.
var builtinChains = map[iptables.Table][]iptables.Chain{
	"raw":      {"PREROUTING", "OUTPUT"},
	"mangle":   {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"nat":      {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"filter":   {"INPUT", "FORWARD", "OUTPUT"},
	"security": {"INPUT", "FORWARD", "OUTPUT"},
}

// extensionTargets are the targets that are not chains, with the tables
// they may be used in (nil: any table).
var extensionTargets = map[string][]iptables.Table{
	"ACCEPT": nil, "DROP": nil, "RETURN": nil, "QUEUE": nil,
	"DNAT": {"nat"}, "SNAT": {"nat"}, "MASQUERADE": {"nat"}, "REDIRECT": {"nat"}, "NETMAP": {"nat"},
	"REJECT": {"filter", "mangle", "raw"}, "MARK": nil, "CONNMARK": nil, "LOG": nil, "NFLOG": nil,
	"CT": {"raw"}, "NOTRACK": {"raw"}, "TRACE": {"raw"}, "NFQUEUE": nil, "CHECKSUM": {"mangle"},
	"TCPMSS": nil, "CLASSIFY": nil, "AUDIT": nil, "SET": nil, "TEE": nil, "TPROXY": {"mangle"},
}

// Parse parses iptables-save output into a Dump. It applies the text as
// iptables-restore would to empty tables, so restore input parses too, and
// every table gets its built-in chains. Unlike Apply it takes a target that
// names no chain for an extension target it does not know (HMARK, DSCP,
// ...), as found in other programs' rules.
func Parse(data []byte) (*Dump, error) {
	s, err := ParseScript(data)
	if err != nil {
		return nil, err
	}
	d := &Dump{}
	if err := d.apply(s, true); err != nil {
		return nil, err
	}
	return d, nil
}

// Table returns the named table, or nil.
func (d *Dump) Table(name iptables.Table) *Table {
	for _, t := range d.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Chain returns the named chain, or nil.
func (t *Table) Chain(name iptables.Chain) *Chain {
	for _, c := range t.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Clone returns a deep copy of the dump. Rules are shared: they are never
// modified in place.
func (d *Dump) Clone() *Dump {
	out := &Dump{}
	for _, t := range d.Tables {
		nt := &Table{Name: t.Name}
		for _, c := range t.Chains {
			nc := *c
			nc.Rules = slices.Clone(c.Rules)
			nt.Chains = append(nt.Chains, &nc)
		}
		out.Tables = append(out.Tables, nt)
	}
	return out
}

// Apply applies a restore script with iptables-restore --noflush
// semantics: a declared chain is created or flushed, other chains are left
// alone. It is atomic: on error d is unchanged. Like the real tools it
// refuses a jump to a missing chain, deleting a missing rule or chain, and
// deleting a chain that is referenced or not empty.
func (d *Dump) Apply(s *Script) error {
	return d.apply(s, false)
}

// apply is Apply; lenient accepts unknown extension targets.
func (d *Dump) apply(s *Script, lenient bool) error {
	c := d.Clone()
	for _, ts := range s.Tables {
		t, err := c.ensureTable(ts.Name)
		if err != nil {
			return err
		}
		for i, op := range ts.Ops {
			if err := t.apply(op, lenient); err != nil {
				return fmt.Errorf("applying table %s line %d (%s %s): %w", ts.Name, i+1, op.Kind, op.Chain, err)
			}
		}
	}
	*d = *c
	return nil
}

func (d *Dump) ensureTable(name iptables.Table) (*Table, error) {
	if t := d.Table(name); t != nil {
		return t, nil
	}
	if _, ok := builtinChains[name]; !ok {
		return nil, fmt.Errorf("unknown table %q", name)
	}
	t := newTable(name)
	d.Tables = append(d.Tables, t)
	return t, nil
}

// newTable returns a table holding its built-in chains, policy ACCEPT.
func newTable(name iptables.Table) *Table {
	t := &Table{Name: name}
	for _, b := range builtinChains[name] {
		t.Chains = append(t.Chains, &Chain{Name: b, Policy: "ACCEPT"})
	}
	return t
}

// addChain adds a user chain where iptables-save lists it: after the
// built-in chains, in byte order of the names.
func (t *Table) addChain(c *Chain) {
	i := len(t.Chains)
	for i > 0 && !t.isBuiltin(t.Chains[i-1].Name) && t.Chains[i-1].Name > c.Name {
		i--
	}
	t.Chains = slices.Insert(t.Chains, i, c)
}

func (t *Table) isBuiltin(name iptables.Chain) bool {
	return slices.Contains(builtinChains[t.Name], name)
}

func (t *Table) apply(op Op, lenient bool) error {
	ch := t.Chain(op.Chain)
	if ch == nil && op.Chain != "" && op.Kind != OpDeclare && op.Kind != OpNewChain {
		return fmt.Errorf("chain %s does not exist", op.Chain)
	}
	switch op.Kind {
	case OpDeclare:
		return t.declare(ch, op)
	case OpNewChain:
		if ch != nil {
			return fmt.Errorf("chain %s already exists", op.Chain)
		}
		t.addChain(&Chain{Name: op.Chain, Policy: "-"})
	case OpFlush:
		for _, c := range t.Chains {
			if op.Chain == "" || c == ch {
				c.Rules = nil
			}
		}
	case OpDeleteChain:
		return t.deleteChains(op.Chain)
	case OpAppend:
		return t.insert(ch, len(ch.Rules)+1, op.Rule, lenient)
	case OpInsert:
		return t.insert(ch, max(op.Num, 1), op.Rule, lenient)
	case OpDelete:
		return t.delete(ch, op)
	default:
		return fmt.Errorf("unknown operation %q", op.Kind)
	}
	return nil
}

func (t *Table) declare(ch *Chain, op Op) error {
	builtin := t.isBuiltin(op.Chain)
	if builtin == (op.Policy == "-") {
		return fmt.Errorf("policy %q does not fit chain %s", op.Policy, op.Chain)
	}
	if ch == nil {
		ch = &Chain{Name: op.Chain}
		t.addChain(ch)
	}
	ch.Policy, ch.Rules = op.Policy, nil
	ch.Counters = Counters{}
	if op.Counters != nil {
		ch.Counters = *op.Counters
	}
	return nil
}

func (t *Table) insert(ch *Chain, pos int, r *Rule, lenient bool) error {
	if pos > len(ch.Rules)+1 {
		return fmt.Errorf("index %d too big for %d rules", pos, len(ch.Rules))
	}
	if err := t.checkTarget(r, lenient); err != nil {
		return err
	}
	ch.Rules = slices.Insert(ch.Rules, pos-1, r)
	return nil
}

func (t *Table) checkTarget(r *Rule, lenient bool) error {
	name := r.Target.Name
	if name == "" {
		return nil
	}
	if tables, ok := extensionTargets[name]; ok {
		if tables != nil && !slices.Contains(tables, t.Name) {
			return fmt.Errorf("target %s is not valid in table %s", name, t.Name)
		}
		if name == "DNAT" && hasPort(r.Target.ToDestination) && !portProtocol(r) {
			// As iptables says: "Need TCP, UDP, SCTP or DCCP with port specification".
			return fmt.Errorf("DNAT to a port needs -p tcp, udp, sctp or dccp")
		}
		return nil
	}
	if t.isBuiltin(iptables.Chain(name)) {
		return fmt.Errorf("jump to built-in chain %s", name)
	}
	if t.Chain(iptables.Chain(name)) == nil {
		if lenient {
			return nil
		}
		return fmt.Errorf("jump to missing chain %s", name)
	}
	if len(r.Target.Options) > 0 {
		return fmt.Errorf("jump to chain %s takes no options", name)
	}
	return nil
}

func (t *Table) delete(ch *Chain, op Op) error {
	if op.Rule == nil {
		if op.Num < 1 || op.Num > len(ch.Rules) {
			return fmt.Errorf("no rule number %d", op.Num)
		}
		ch.Rules = slices.Delete(ch.Rules, op.Num-1, op.Num)
		return nil
	}
	want := op.Rule.String()
	for i, r := range ch.Rules {
		if r.String() == want {
			ch.Rules = slices.Delete(ch.Rules, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("no such rule: %s", want)
}

// deleteChains deletes one user chain, or every user chain when name is
// empty.
func (t *Table) deleteChains(name iptables.Chain) error {
	doomed := map[iptables.Chain]bool{}
	for _, c := range t.Chains {
		if !t.isBuiltin(c.Name) && (name == "" || c.Name == name) {
			doomed[c.Name] = true
		}
	}
	if name != "" && !doomed[name] {
		return fmt.Errorf("cannot delete built-in chain %s", name)
	}
	for _, c := range t.Chains {
		if name != "" && doomed[c.Name] && len(c.Rules) > 0 {
			return fmt.Errorf("chain %s is not empty", c.Name)
		}
		if name == "" && doomed[c.Name] {
			continue
		}
		for _, r := range c.Rules {
			if doomed[iptables.Chain(r.Target.Name)] {
				return fmt.Errorf("chain %s is referenced from %s", r.Target.Name, c.Name)
			}
		}
	}
	t.Chains = slices.DeleteFunc(t.Chains, func(c *Chain) bool { return doomed[c.Name] })
	return nil
}

// portProtocol reports whether the rule matches one protocol with ports.
func portProtocol(r *Rule) bool {
	p := r.Protocol
	return p != nil && !p.Negate && slices.Contains([]string{"tcp", "udp", "sctp", "dccp"}, p.Value)
}

// hasPort reports whether a --to-destination value names a port.
func hasPort(dest string) bool {
	if strings.HasPrefix(dest, "[") {
		return strings.Contains(dest, "]:")
	}
	return strings.Count(dest, ":") == 1
}
