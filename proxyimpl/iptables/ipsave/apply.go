package ipsave

import (
	"fmt"
	"slices"
	"strings"
)

// builtinChains lists each table's built-in chains in iptables-save order.
var builtinChains = map[TableName][]ChainName{
	"raw":      {"PREROUTING", "OUTPUT"},
	"mangle":   {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"nat":      {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"filter":   {"INPUT", "FORWARD", "OUTPUT"},
	"security": {"INPUT", "FORWARD", "OUTPUT"},
}

// extensionTargets are the targets that are not chains, with the tables
// they may be used in (nil: any table).
var extensionTargets = map[string][]TableName{
	"ACCEPT": nil, "DROP": nil, "RETURN": nil, "QUEUE": nil,
	"DNAT": {"nat"}, "SNAT": {"nat"}, "MASQUERADE": {"nat"}, "REDIRECT": {"nat"}, "NETMAP": {"nat"},
	"REJECT": {"filter", "mangle", "raw"}, "MARK": nil, "CONNMARK": nil, "LOG": nil, "NFLOG": nil,
	"CT": {"raw"}, "NOTRACK": {"raw"}, "TRACE": {"raw"}, "NFQUEUE": nil, "CHECKSUM": {"mangle"},
	"TCPMSS": nil, "CLASSIFY": nil, "AUDIT": nil, "SET": nil, "TEE": nil, "TPROXY": {"mangle"},
}

// IsExtensionTarget reports whether name is a target that is not a chain
// (ACCEPT, DNAT, MARK, ...).
func IsExtensionTarget(name string) bool {
	_, ok := extensionTargets[name]
	return ok
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
func (d *Dump) Table(name TableName) *Table {
	for _, t := range d.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Chain returns the named chain, or nil.
func (t *Table) Chain(name ChainName) *Chain {
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
		t, err := c.EnsureTable(ts.Name)
		if err != nil {
			return err
		}
		a := newApplier(t, lenient)
		for i, op := range ts.Ops {
			if err := a.apply(op); err != nil {
				return fmt.Errorf("applying table %s line %d (%s %s): %w", ts.Name, i+1, op.Kind, op.Chain, err)
			}
		}
		a.finish()
	}
	*d = *c
	return nil
}

// EnsureTable returns the named table, adding it with its built-in chains
// when the dump lacks it; an unknown table name is an error.
func (d *Dump) EnsureTable(name TableName) (*Table, error) {
	if t := d.Table(name); t != nil {
		return t, nil
	}
	if _, ok := builtinChains[name]; !ok {
		return nil, fmt.Errorf("unknown table %q", name)
	}
	t := NewTable(name)
	d.Tables = append(d.Tables, t)
	return t, nil
}

// NewTable returns a table holding its built-in chains, policy ACCEPT.
func NewTable(name TableName) *Table {
	t := &Table{Name: name}
	for _, b := range builtinChains[name] {
		t.Chains = append(t.Chains, &Chain{Name: b, Policy: "ACCEPT"})
	}
	return t
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
