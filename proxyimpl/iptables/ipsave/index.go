package ipsave

import (
	"fmt"
	"strings"
)

// Index is iptables-save output indexed by table and chain without parsing
// its rules: each rule is kept as its line, for a reader that needs a few
// chains of a large dump (a packet's path) and parses only those.
type Index struct {
	// Tables are the tables in the order of the text.
	Tables []*IndexTable
}

// IndexTable is one table of an Index.
type IndexTable struct {
	Name   TableName
	chains map[ChainName]*indexChain
}

type indexChain struct {
	policy string
	lines  []IndexLine
}

// IndexLine is one rule's line: its number in the text (1-based, as Parse
// numbers Rule.Line) and its text, spaces trimmed.
type IndexLine struct {
	Line int
	Text string
}

// NewIndex indexes iptables-save output with a cheap scan of its lines.
// Text that is not plain iptables-save output (restore input inserting or
// deleting rules, chains appended to before they are declared) is parsed
// whole with Parse and indexed from the result, so the index always holds
// the rules Parse would. Bad rule lines are only found by ParseRuleLine.
func NewIndex(data []byte) (*Index, error) {
	if x, ok := scanIndex(data); ok {
		return x, nil
	}
	d, err := Parse(data)
	if err != nil {
		return nil, err
	}
	x := &Index{}
	for _, t := range d.Tables {
		it := &IndexTable{Name: t.Name, chains: map[ChainName]*indexChain{}}
		for _, c := range t.Chains {
			ic := &indexChain{policy: c.Policy}
			for _, r := range c.Rules {
				ic.lines = append(ic.lines, IndexLine{Line: r.Line, Text: r.Raw})
			}
			it.chains[c.Name] = ic
		}
		x.Tables = append(x.Tables, it)
	}
	return x, nil
}

// scanIndex indexes plain iptables-save output: table headers, chain
// declarations, -A lines and COMMIT. It reports false for anything else.
func scanIndex(data []byte) (*Index, bool) {
	x := &Index{}
	var cur *IndexTable
	text := string(data) // one copy: the lines kept are slices of it
	for n := 1; len(text) > 0; n++ {
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '*':
			if cur != nil || x.Table(TableName(line[1:])) != nil {
				return nil, false
			}
			if cur = newIndexTable(TableName(line[1:])); cur == nil {
				return nil, false
			}
			x.Tables = append(x.Tables, cur)
		case line == "COMMIT":
			if cur == nil {
				return nil, false
			}
			cur = nil
		case cur == nil:
			return nil, false
		case line[0] == ':':
			if !cur.declare(line[1:]) {
				return nil, false
			}
		default:
			c := cur.chains[appendedChain(line)]
			if c == nil {
				return nil, false
			}
			c.lines = append(c.lines, IndexLine{Line: n, Text: line})
		}
	}
	return x, cur == nil
}

// newIndexTable returns a table with its built-in chains, policy ACCEPT;
// nil for an unknown table.
func newIndexTable(name TableName) *IndexTable {
	builtins, ok := builtinChains[name]
	if !ok {
		return nil
	}
	t := &IndexTable{Name: name, chains: map[ChainName]*indexChain{}}
	for _, b := range builtins {
		t.chains[b] = &indexChain{policy: "ACCEPT"}
	}
	return t
}

// declare handles "NAME POLICY [p:b]": a built-in chain gets its policy, a
// user chain is added; a user chain declared twice is not plain save output.
func (t *IndexTable) declare(rest string) bool {
	f := strings.Fields(rest)
	if len(f) < 2 || !validName(f[0]) {
		return false
	}
	name := ChainName(f[0])
	c, builtin := t.chains[name]
	switch {
	case builtin && c.policy != "-" && len(c.lines) == 0:
		c.policy = f[1]
	case c != nil:
		return false
	default:
		t.chains[name] = &indexChain{policy: f[1]}
	}
	return true
}

// appendedChain returns the chain of a "[p:b] -A CHAIN ..." line, or "".
func appendedChain(line string) ChainName {
	if line[0] == '[' {
		_, line, _ = strings.Cut(line, " ")
	}
	rest, ok := strings.CutPrefix(line, "-A ")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
	return ChainName(name)
}

// Table returns the named table, or nil.
func (x *Index) Table(name TableName) *IndexTable {
	for _, t := range x.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Policy returns a chain's policy ("-" for a user chain); ok is false when
// the table has no such chain.
func (t *IndexTable) Policy(chain ChainName) (policy string, ok bool) {
	c := t.chains[chain]
	if c == nil {
		return "", false
	}
	return c.policy, true
}

// Lines returns the lines of a chain's rules, in order.
func (t *IndexTable) Lines(chain ChainName) []IndexLine {
	if c := t.chains[chain]; c != nil {
		return c.lines
	}
	return nil
}

// ParseRuleLine parses one rule line of an Index into a Rule with its
// Line and Raw set, as Parse would.
func ParseRuleLine(l IndexLine) (*Rule, error) {
	words, err := splitWords(l.Text)
	if err != nil {
		return nil, fmt.Errorf("parsing line %d %q: %w", l.Line, l.Text, err)
	}
	op, err := parseOp(words)
	if err == nil && op.Rule == nil {
		err = fmt.Errorf("not a rule")
	}
	if err != nil {
		return nil, fmt.Errorf("parsing line %d %q: %w", l.Line, l.Text, err)
	}
	op.Rule.Line, op.Rule.Raw = l.Line, l.Text
	return op.Rule, nil
}
