package render

import (
	"bytes"
	"slices"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// tables are the tables svccheck writes, in restore order: nat first, as
// iptables-nft restores a large nat table markedly slower (over half as
// long again at 10k Services) when the filter table precedes it.
var tables = []iptables.Table{iptables.TableNAT, iptables.TableFilter}

// Write returns the restore text taking the kernel from prev to next: a
// full sync (WriteFull) when prev is nil, else a partial one (WritePartial)
// for the ports in changed. existing is used by full syncs only.
func Write(prev, next *RuleSet, changed map[snapshot.ServicePortName]bool, existing *Existing) ([]byte, Stats) {
	if prev == nil {
		return WriteFull(next, existing)
	}
	return WritePartial(prev, next, changed)
}

// tableWriter accumulates one table's part of a restore text.
type tableWriter struct {
	table    iptables.Table
	declared []string
	rules    bytes.Buffer
	deletes  []string
	stats    TableStats
}

func (tw *tableWriter) declare(chain string) {
	tw.declared = append(tw.declared, chain)
	tw.stats.Chains++
}

func (tw *tableWriter) line(op, chain, spec string) {
	writeLine(&tw.rules, op, chain, spec)
	if op == "-D" {
		tw.stats.Deleted++
	} else {
		tw.stats.Rules++
	}
}

func (tw *tableWriter) appendChain(c Chain) {
	tw.stats.Rules += writeChain(&tw.rules, c)
}

func (tw *tableWriter) empty() bool {
	return len(tw.declared) == 0 && tw.rules.Len() == 0 && len(tw.deletes) == 0
}

// writeTo appends the table's block (declarations, rules, chain deletions)
// to out, or nothing when the table has nothing to do.
func (tw *tableWriter) writeTo(out *bytes.Buffer) {
	if tw.empty() {
		return
	}
	out.WriteString("*" + string(tw.table) + "\n")
	slices.Sort(tw.declared) // see WriteFull
	for _, c := range tw.declared {
		out.WriteString(":" + c + " - [0:0]\n")
	}
	out.Write(tw.rules.Bytes())
	for _, c := range tw.deletes {
		out.WriteString("-X " + c + "\n")
		tw.stats.Deleted++
	}
	out.WriteString("COMMIT\n")
}

// finish assembles the tables' blocks and their stats.
func finish(tws map[iptables.Table]*tableWriter) ([]byte, Stats) {
	var out bytes.Buffer
	size := 0
	for _, tw := range tws {
		size += tw.rules.Len() + 64*len(tw.declared) + 64*len(tw.deletes) + 64
	}
	out.Grow(size)
	stats := Stats{}
	for _, t := range tables {
		tw := tws[t]
		tw.writeTo(&out)
		stats[t] = tw.stats
	}
	return out.Bytes(), stats
}

func newTableWriters() map[iptables.Table]*tableWriter {
	tws := map[iptables.Table]*tableWriter{}
	for _, t := range tables {
		tws[t] = &tableWriter{table: t}
	}
	return tws
}

// sortedServices returns the values of services, sorted by name.
func sortedServices(services map[snapshot.ServicePortName]*ServiceRules) []*ServiceRules {
	out := make([]*ServiceRules, 0, len(services))
	for _, sr := range services {
		out = append(out, sr)
	}
	slices.SortFunc(out, func(a, b *ServiceRules) int { return a.Name.Compare(b.Name) })
	return out
}

// Existing is the kernel state a full sync starts from, as read with
// iptables-save just before it.
type Existing struct {
	// Chains lists each table's chains, svccheck's and others'.
	Chains map[iptables.Table][]string
	// Rules holds, per table, the rules of svccheck's chains (each as
	// iptables-save prints it after "-A CHAIN "), an empty list for an
	// empty chain. A full sync leaves a chain whose rules equal the
	// rendered ones as it is, rather than flushing and refilling it: on
	// iptables-nft refilling existing chains is most of a full sync's
	// cost. With nil Rules every chain is rewritten.
	Rules map[iptables.Table]map[string][]string
	// Jumps holds, per table, the rules outside svccheck's chains (in
	// built-in chains and others' chains) that jump or go to one of
	// svccheck's chains. A full sync deletes those into a chain it
	// deletes: the kernel refuses to delete a chain something jumps to.
	Jumps map[iptables.Table][]Jump
}

// Jump is a rule outside svccheck's chains whose target is one of them.
type Jump struct {
	// Chain is the chain the rule is in.
	Chain string
	// Spec is the rule as iptables-save prints it after "-A CHAIN ".
	Spec string
	// Target is the svccheck chain it jumps or goes to.
	Target string
}

// jumpsInto returns the rules of table t in e.Jumps whose target is one
// of chains.
func (e *Existing) jumpsInto(t iptables.Table, chains []string) []Jump {
	if e == nil || len(chains) == 0 {
		return nil
	}
	var out []Jump
	for _, j := range e.Jumps[t] {
		if slices.Contains(chains, j.Target) {
			out = append(out, j)
		}
	}
	return out
}

// unchanged reports whether c exists in the kernel with exactly its rules.
func (e *Existing) unchanged(c Chain) bool {
	if e == nil || e.Rules == nil {
		return false
	}
	got, ok := e.Rules[c.Table][c.Name]
	return ok && slices.Equal(got, c.Rules)
}

// chainNames returns e's chain lists, nil for a nil e.
func (e *Existing) chainNames() map[iptables.Table][]string {
	if e == nil {
		return nil
	}
	return e.Chains
}

// WriteFull returns restore text that brings every chain of rs to its
// rendered rules. Chains that existing shows with exactly those rules are
// left alone; every other chain is declared (created or flushed) and
// filled. Chains named in existing that start with snapshot.ChainPrefix
// and are not in rs are flushed and deleted, after the rules in
// existing.Jumps that lead into them. A nil existing rewrites everything.
func WriteFull(rs *RuleSet, existing *Existing) ([]byte, Stats) {
	ordered := sortedServices(rs.Services)
	_, stale, size := fullPlan(rs, ordered, existing)
	var out bytes.Buffer
	out.Grow(size + 1024)
	stats := Stats{}
	for _, t := range tables {
		stats[t] = writeTable(&out, tableChains(rs, ordered, t), t, stale[t], existing)
	}
	return out.Bytes(), stats
}

// fullPlan returns the chains a full sync declares and the stale chains it
// deletes, per table, and an estimate of the text's size.
func fullPlan(rs *RuleSet, ordered []*ServiceRules, existing *Existing) (declared, stale map[iptables.Table][]string, size int) {
	declared, size = fullChains(rs, ordered)
	own := map[tableChain]bool{}
	for t, chains := range declared {
		for _, c := range chains {
			own[tableChain{t, c}] = true
		}
	}
	return declared, staleChains(existing.chainNames(), own), size
}

// tableChains returns every chain of rs in table t with all of its rules,
// in the order a full sync fills them: the global chains (a shared one
// with the ports' rules before its fixed rules), the hairpin chain, then
// the ports' own chains in port order.
func tableChains(rs *RuleSet, ordered []*ServiceRules, t iptables.Table) []Chain {
	var out []Chain
	for _, g := range rs.Global {
		if g.Table != t {
			continue
		}
		if isShared(g.Table, g.Name) {
			g = withShared(ordered, g)
		}
		out = append(out, g)
	}
	if rs.Hairpin.Table == t {
		out = append(out, rs.Hairpin)
	}
	for _, sr := range ordered {
		for _, c := range sr.Chains {
			if c.Table == t {
				out = append(out, c)
			}
		}
	}
	return out
}

// withShared returns the shared chain g with the ports' rules in it, in
// port name order, before g's fixed rules.
func withShared(ordered []*ServiceRules, g Chain) Chain {
	var rules []string
	for _, sr := range ordered {
		for _, r := range sr.Shared {
			if r.Table == g.Table && r.Chain == g.Name {
				rules = append(rules, r.Spec)
			}
		}
	}
	g.Rules = append(rules, g.Rules...)
	return g
}

// writeTable writes one transaction of table t that fills the chains that
// differ from existing and deletes the stale ones, and before them every
// rule of existing.Jumps that leads into one; nothing at all when there
// is nothing to do.
func writeTable(out *bytes.Buffer, chains []Chain, t iptables.Table, stale []string, existing *Existing) TableStats {
	var st TableStats
	var write []Chain
	for _, c := range chains {
		if existing.unchanged(c) {
			st.Kept++
			continue
		}
		write = append(write, c)
	}
	if len(write) == 0 && len(stale) == 0 {
		return st
	}
	out.WriteString("*" + string(t) + "\n")
	// Sorted: iptables-nft keeps chains in a name-ordered list, and
	// declaring them out of order makes a large restore quadratic.
	decl := slices.Clone(stale)
	for _, c := range write {
		decl = append(decl, c.Name)
	}
	slices.Sort(decl)
	for _, c := range decl {
		out.WriteString(":" + c + " - [0:0]\n")
		st.Chains++
	}
	for _, c := range write {
		st.Rules += writeChain(out, c)
	}
	for _, j := range existing.jumpsInto(t, stale) {
		writeLine(out, "-D", j.Chain, j.Spec)
		st.Deleted++
	}
	for _, c := range stale {
		out.WriteString("-X " + c + "\n")
		st.Deleted++
	}
	out.WriteString("COMMIT\n")
	return st
}

// fullChains returns the chains of rs per table and an estimate of the
// size of the restore text.
func fullChains(rs *RuleSet, ordered []*ServiceRules) (map[iptables.Table][]string, int) {
	declared := map[iptables.Table][]string{}
	size := 0
	for _, c := range append(slices.Clone(rs.Global), rs.Hairpin) {
		declared[c.Table] = append(declared[c.Table], c.Name)
		size += len(c.Name) + 10
		for _, r := range c.Rules {
			size += len(c.Name) + len(r) + 5
		}
	}
	for _, sr := range ordered {
		for _, r := range sr.Shared {
			size += len(r.Chain) + len(r.Spec) + 5
		}
		for _, c := range sr.Chains {
			declared[c.Table] = append(declared[c.Table], c.Name)
			size += len(c.Name) + 10
			for _, r := range c.Rules {
				size += len(c.Name) + len(r) + 5
			}
		}
	}
	return declared, size
}

// staleChains returns, per table, the chains of existing that start with
// snapshot.ChainPrefix and are not in own, sorted.
func staleChains(existing map[iptables.Table][]string, own map[tableChain]bool) map[iptables.Table][]string {
	stale := map[iptables.Table][]string{}
	for _, t := range tables {
		list := slices.Clone(existing[t])
		slices.Sort(list)
		for _, c := range slices.Compact(list) {
			if strings.HasPrefix(c, snapshot.ChainPrefix) && !own[tableChain{t, c}] {
				stale[t] = append(stale[t], c)
			}
		}
	}
	return stale
}

// writeLine writes "op chain spec\n".
func writeLine(out *bytes.Buffer, op, chain, spec string) {
	out.WriteString(op)
	out.WriteByte(' ')
	out.WriteString(chain)
	out.WriteByte(' ')
	out.WriteString(spec)
	out.WriteByte('\n')
}

// writeChain appends every rule of c and returns how many it wrote.
func writeChain(out *bytes.Buffer, c Chain) int {
	for _, r := range c.Rules {
		writeLine(out, "-A", c.Name, r)
	}
	return len(c.Rules)
}
