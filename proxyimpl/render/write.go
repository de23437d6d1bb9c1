package render

import (
	"bytes"
	"slices"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// tables are the tables svccheck writes, in restore order.
var tables = []iptables.Table{iptables.TableFilter, iptables.TableNAT}

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
	tw.rules.WriteString(op)
	tw.rules.WriteByte(' ')
	tw.rules.WriteString(chain)
	tw.rules.WriteByte(' ')
	tw.rules.WriteString(spec)
	tw.rules.WriteByte('\n')
	if op == "-D" {
		tw.stats.Deleted++
	} else {
		tw.stats.Rules++
	}
}

func (tw *tableWriter) appendChain(c Chain) {
	for _, r := range c.Rules {
		tw.line("-A", c.Name, r)
	}
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

// sortedNames returns the keys of services, sorted.
func sortedNames(services map[snapshot.ServicePortName]*ServiceRules) []snapshot.ServicePortName {
	names := make([]snapshot.ServicePortName, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	slices.SortFunc(names, snapshot.ServicePortName.Compare)
	return names
}

// WriteFull returns restore text that declares and fills every chain of
// rs. Chains named in existing (per table, as found in the kernel before)
// that start with snapshot.ChainPrefix and are not in rs are flushed and
// deleted.
func WriteFull(rs *RuleSet, existing map[iptables.Table][]string) ([]byte, Stats) {
	tws := newTableWriters()
	names := sortedNames(rs.Services)
	own := make(map[tableChain]bool, 2*len(names))
	sizes := map[iptables.Table]int{}
	for _, n := range names {
		sr := rs.Services[n]
		for _, r := range sr.Shared {
			sizes[r.Table] += len(r.Chain) + len(r.Spec) + 5
		}
		for _, c := range sr.Chains {
			for _, r := range c.Rules {
				sizes[c.Table] += len(c.Name) + len(r) + 5
			}
		}
	}
	for t, n := range sizes {
		tws[t].rules.Grow(n + 4096)
	}

	for _, g := range rs.Global {
		tws[g.Table].declare(g.Name)
		own[tableChain{g.Table, g.Name}] = true
	}
	tws[rs.Hairpin.Table].declare(rs.Hairpin.Name)
	own[tableChain{rs.Hairpin.Table, rs.Hairpin.Name}] = true
	for _, n := range names {
		for _, c := range rs.Services[n].Chains {
			tws[c.Table].declare(c.Name)
			own[tableChain{c.Table, c.Name}] = true
		}
	}
	stale := map[iptables.Table][]string{}
	for _, t := range tables {
		list := slices.Clone(existing[t])
		slices.Sort(list)
		for _, c := range slices.Compact(list) {
			if strings.HasPrefix(c, snapshot.ChainPrefix) && !own[tableChain{t, c}] {
				tws[t].declare(c)
				stale[t] = append(stale[t], c)
			}
		}
	}

	for _, g := range rs.Global {
		tw := tws[g.Table]
		if sharedChains[tableChain{g.Table, g.Name}] {
			for _, n := range names {
				for _, r := range rs.Services[n].Shared {
					if r.Table == g.Table && r.Chain == g.Name {
						tw.line("-A", r.Chain, r.Spec)
					}
				}
			}
		}
		tw.appendChain(g)
	}
	tws[rs.Hairpin.Table].appendChain(rs.Hairpin)
	for _, n := range names {
		for _, c := range rs.Services[n].Chains {
			tws[c.Table].appendChain(c)
		}
	}
	for _, t := range tables {
		tws[t].deletes = stale[t]
	}
	return finish(tws)
}
