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
func Write(prev, next *RuleSet, changed map[snapshot.ServicePortName]bool, existing map[iptables.Table][]string) ([]byte, Stats) {
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

// WriteFull returns restore text that declares and fills every chain of
// rs. Chains named in existing (per table, as found in the kernel before)
// that start with snapshot.ChainPrefix and are not in rs are flushed and
// deleted.
func WriteFull(rs *RuleSet, existing map[iptables.Table][]string) ([]byte, Stats) {
	ordered := sortedServices(rs.Services)
	declared, stale, size := fullPlan(rs, ordered, existing)
	var out bytes.Buffer
	out.Grow(size + 1024)
	stats := Stats{}
	for _, t := range tables {
		stats[t] = writeTable(&out, rs, ordered, t, declared[t], stale[t])
	}
	return out.Bytes(), stats
}

// fullPlan returns the chains a full sync declares and the stale chains it
// deletes, per table, and an estimate of the text's size.
func fullPlan(rs *RuleSet, ordered []*ServiceRules, existing map[iptables.Table][]string) (declared, stale map[iptables.Table][]string, size int) {
	declared, size = fullChains(rs, ordered)
	own := map[tableChain]bool{}
	for t, chains := range declared {
		for _, c := range chains {
			own[tableChain{t, c}] = true
		}
	}
	return declared, staleChains(existing, own), size
}

// writeTable writes table t of rs as one transaction: every chain
// declared, filled, and the stale chains deleted.
func writeTable(out *bytes.Buffer, rs *RuleSet, ordered []*ServiceRules, t iptables.Table, declared, stale []string) TableStats {
	var st TableStats
	out.WriteString("*" + string(t) + "\n")
	// Sorted: iptables-nft keeps chains in a name-ordered list, and
	// declaring them out of order makes a large restore quadratic.
	decl := append(slices.Clone(declared), stale...)
	slices.Sort(decl)
	for _, c := range decl {
		out.WriteString(":" + c + " - [0:0]\n")
		st.Chains++
	}
	for _, g := range rs.Global {
		if g.Table != t {
			continue
		}
		if sharedChains[tableChain{g.Table, g.Name}] {
			st.Rules += writeShared(out, ordered, t, g.Name)
		}
		st.Rules += writeChain(out, g)
	}
	if rs.Hairpin.Table == t {
		st.Rules += writeChain(out, rs.Hairpin)
	}
	for _, sr := range ordered {
		for _, c := range sr.Chains {
			if c.Table == t {
				st.Rules += writeChain(out, c)
			}
		}
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

// writeShared appends the ports' rules in one shared chain, in port name
// order, and returns how many it wrote.
func writeShared(out *bytes.Buffer, ordered []*ServiceRules, t iptables.Table, chain string) int {
	n := 0
	for _, sr := range ordered {
		for _, r := range sr.Shared {
			if r.Table == t && r.Chain == chain {
				writeLine(out, "-A", r.Chain, r.Spec)
				n++
			}
		}
	}
	return n
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
