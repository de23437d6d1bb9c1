package render

import (
	"bytes"
	"slices"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// DefaultBatchRules is the batch size WriteFullBatched is meant to be used
// with on iptables-nft: at 10k Services x 10 endpoints, batches of about
// 1000 rules restored in a fifth of the time one transaction took.
const DefaultBatchRules = 1000

// WriteFullBatched is WriteFull with the nat table split into several
// transactions ("*nat ... COMMIT" blocks), for iptables-nft, whose restore
// time grows faster than linearly with the size of one transaction. Use it
// with the nft backend only: iptables-legacy rewrites the whole table at
// every COMMIT. batchRules <= 0 means WriteFull.
//
// The blocks are ordered so that every state in between is consistent:
// first the global chains without per-port rules and the hairpin chain,
// then the ports' own chains, a port's chains always in one block of about
// batchRules rules, and last the shared chains (their jumps now all
// resolve) and the deletion of stale chains. While the blocks apply, each
// port's traffic follows either its old or its new rules.
func WriteFullBatched(rs *RuleSet, existing map[iptables.Table][]string, batchRules int) ([]byte, Stats) {
	if batchRules <= 0 {
		return WriteFull(rs, existing)
	}
	ordered := sortedServices(rs.Services)
	declared, stale, size := fullPlan(rs, ordered, existing)
	var out bytes.Buffer
	out.Grow(size + 4096)
	stats := Stats{}
	nat := iptables.TableNAT
	add := func(st TableStats) {
		s := stats[nat]
		s.Chains, s.Rules, s.Deleted = s.Chains+st.Chains, s.Rules+st.Rules, s.Deleted+st.Deleted
		stats[nat] = s
	}

	// Global chains without per-port rules, and the hairpin chain.
	var first []Chain
	for _, g := range rs.Global {
		if g.Table == nat && !sharedChains[tableChain{g.Table, g.Name}] {
			first = append(first, g)
		}
	}
	if rs.Hairpin.Table == nat {
		first = append(first, rs.Hairpin)
	}
	add(writeBlock(&out, nat, first))

	// The ports' own chains, a port never split across blocks.
	var batch []Chain
	n := 0
	for _, sr := range ordered {
		for _, c := range sr.Chains {
			if c.Table == nat {
				batch = append(batch, c)
				n += len(c.Rules)
			}
		}
		if n >= batchRules {
			add(writeBlock(&out, nat, batch))
			batch, n = batch[:0], 0
		}
	}
	if len(batch) > 0 {
		add(writeBlock(&out, nat, batch))
	}

	// The shared chains, then the stale ones.
	var shared []string
	for _, g := range rs.Global {
		if g.Table == nat && sharedChains[tableChain{g.Table, g.Name}] {
			shared = append(shared, g.Name)
		}
	}
	var st TableStats
	out.WriteString("*" + string(nat) + "\n")
	decl := append(slices.Clone(shared), stale[nat]...)
	slices.Sort(decl)
	for _, c := range decl {
		out.WriteString(":" + c + " - [0:0]\n")
		st.Chains++
	}
	for _, g := range rs.Global {
		if g.Table == nat && sharedChains[tableChain{g.Table, g.Name}] {
			st.Rules += writeShared(&out, ordered, nat, g.Name)
			st.Rules += writeChain(&out, g)
		}
	}
	for _, c := range stale[nat] {
		out.WriteString("-X " + c + "\n")
		st.Deleted++
	}
	out.WriteString("COMMIT\n")
	add(st)

	// The filter table is small: one transaction, as WriteFull writes it.
	filter := iptables.TableFilter
	stats[filter] = writeTable(&out, rs, ordered, filter, declared[filter], stale[filter])
	return out.Bytes(), stats
}

// writeBlock writes one transaction declaring and filling chains, all of
// table t.
func writeBlock(out *bytes.Buffer, t iptables.Table, chains []Chain) TableStats {
	var st TableStats
	out.WriteString("*" + string(t) + "\n")
	sorted := slices.Clone(chains)
	slices.SortFunc(sorted, func(a, b Chain) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	for _, c := range sorted {
		out.WriteString(":" + c.Name + " - [0:0]\n")
		st.Chains++
	}
	for _, c := range chains {
		st.Rules += writeChain(out, c)
	}
	out.WriteString("COMMIT\n")
	return st
}
