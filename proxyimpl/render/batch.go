package render

import (
	"bytes"
	"slices"
	"strings"

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
	nat, filter := iptables.TableNAT, iptables.TableFilter
	var st TableStats
	add := func(s TableStats) {
		st.Chains, st.Rules, st.Deleted = st.Chains+s.Chains, st.Rules+s.Rules, st.Deleted+s.Deleted
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
	add(writePortBlocks(&out, ordered, batchRules))
	add(writeSharedBlock(&out, rs, ordered, stale[nat]))
	// The filter table is small: one transaction, as WriteFull writes it.
	filterStats := writeTable(&out, rs, ordered, filter, declared[filter], stale[filter])
	return out.Bytes(), Stats{nat: st, filter: filterStats}
}

// writePortBlocks writes the ports' own nat chains in transactions of
// about batchRules rules, never splitting a port. The ports go in the
// order of their chains' names (their hash): iptables-nft inserts chains
// into a name-ordered list.
func writePortBlocks(out *bytes.Buffer, ordered []*ServiceRules, batchRules int) TableStats {
	byChain := slices.Clone(ordered)
	slices.SortFunc(byChain, func(a, b *ServiceRules) int { return strings.Compare(firstChain(a), firstChain(b)) })
	var st TableStats
	var batch []Chain
	n := 0
	flush := func() {
		s := writeBlock(out, iptables.TableNAT, batch)
		st.Chains, st.Rules = st.Chains+s.Chains, st.Rules+s.Rules
		batch, n = batch[:0], 0
	}
	for _, sr := range byChain {
		for _, c := range sr.Chains {
			if c.Table == iptables.TableNAT {
				batch = append(batch, c)
				n += len(c.Rules)
			}
		}
		if n >= batchRules {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return st
}

// firstChain returns the name of sr's last own chain ("" without any):
// the SVC chain when there is one, whose name sorts after CLU and EXT.
func firstChain(sr *ServiceRules) string {
	if len(sr.Chains) == 0 {
		return ""
	}
	return sr.Chains[len(sr.Chains)-1].Name
}

// writeSharedBlock writes the nat transaction that declares and fills the
// shared chains and deletes the stale ones.
func writeSharedBlock(out *bytes.Buffer, rs *RuleSet, ordered []*ServiceRules, stale []string) TableStats {
	nat := iptables.TableNAT
	var st TableStats
	var decl []string
	for _, g := range rs.Global {
		if g.Table == nat && sharedChains[tableChain{g.Table, g.Name}] {
			decl = append(decl, g.Name)
		}
	}
	decl = append(decl, stale...)
	slices.Sort(decl)
	out.WriteString("*" + string(nat) + "\n")
	for _, c := range decl {
		out.WriteString(":" + c + " - [0:0]\n")
		st.Chains++
	}
	for _, g := range rs.Global {
		if g.Table == nat && sharedChains[tableChain{g.Table, g.Name}] {
			st.Rules += writeShared(out, ordered, nat, g.Name)
			st.Rules += writeChain(out, g)
		}
	}
	for _, c := range stale {
		out.WriteString("-X " + c + "\n")
		st.Deleted++
	}
	out.WriteString("COMMIT\n")
	return st
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
