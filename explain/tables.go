package explain

import (
	"fmt"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
)

// proxyTable is one of a node's tables as explain walks it: the proxies'
// chains (see ProxyPrefixes) and, of the built-in chains, the rules that
// jump or go to one. The rest (Docker's, the CNI's) is not what explain is
// about, and may use matches the tracer does not model. A chain's rules
// are parsed from the node's index when the tracer first reaches it, so a
// trace through a table of 100k rules parses a few hundred of them.
type proxyTable struct {
	name   ipsave.TableName
	file   string
	index  *ipsave.IndexTable
	loaded map[ipsave.ChainName]*ipsave.Chain
	// number is each loaded rule's 1-based number in its chain of the
	// whole table (the tracer numbers the rules it is given).
	number map[*ipsave.Rule]int
	err    error
}

// proxyTable returns the node's table name for a trace; nil when the
// node has no such table.
func (n *Node) proxyTable(name ipsave.TableName) *proxyTable {
	x := n.index[name]
	if x == nil {
		return nil
	}
	return &proxyTable{name: name, file: n.Files[name], index: x,
		loaded: map[ipsave.ChainName]*ipsave.Chain{}, number: map[*ipsave.Rule]int{}}
}

// chains returns t for the tracer, or nil (no table) when t is nil.
func (t *proxyTable) chains() iptrace.Chains {
	if t == nil {
		return nil
	}
	return t
}

// Chain returns a chain as the tracer sees it, parsing it on first use;
// nil for a chain the table lacks or explain leaves out, or one that does
// not parse (see parseErr).
func (t *proxyTable) Chain(name ipsave.ChainName) *ipsave.Chain {
	c, ok := t.loaded[name]
	if !ok {
		c = t.load(name)
		t.loaded[name] = c
	}
	return c
}

func (t *proxyTable) load(name ipsave.ChainName) *ipsave.Chain {
	policy, ok := t.index.Policy(name)
	own := isProxy(string(name))
	if !ok || (!own && policy == "-") {
		return nil
	}
	c := &ipsave.Chain{Name: name, Policy: policy}
	for i, l := range t.index.Lines(name) {
		// A rule whose target is a proxy's chain names it; others are
		// not parsed at all.
		if !own && !mentionsProxy(l.Text) {
			continue
		}
		r, err := ipsave.ParseRuleLine(l)
		if err != nil {
			if t.err == nil {
				t.err = fmt.Errorf("parsing %s: %w", t.file, err)
			}
			return nil
		}
		if own || isProxy(r.Target.Name) {
			c.Rules = append(c.Rules, r)
			t.number[r] = i + 1
		}
	}
	return c
}

// parseErr returns the first parse error of the chains loaded.
func (t *proxyTable) parseErr() error {
	if t == nil {
		return nil
	}
	return t.err
}

// rule returns the rule a trace step names and its number in its chain of
// the whole table; nil for a chain's policy.
func (t *proxyTable) rule(s iptrace.Step) (*ipsave.Rule, int) {
	if t == nil || s.Rule < 1 {
		return nil, 0
	}
	c := t.loaded[s.Chain]
	if c == nil || s.Rule > len(c.Rules) {
		return nil, 0
	}
	r := c.Rules[s.Rule-1]
	return r, t.number[r]
}

func mentionsProxy(text string) bool {
	for _, p := range ProxyPrefixes {
		if strings.Contains(text, p) {
			return true
		}
	}
	return false
}
