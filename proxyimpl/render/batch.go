package render

import (
	"bytes"
	"slices"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// DefaultBatchRules is the batch size WriteFullBatched is meant to be used
// with on iptables-nft when the tables are (nearly) empty: at 10k Services
// x 10 endpoints, batches of about 1000 rules restored in a fifth of the
// time one transaction took. See BatchRules for a table that is not.
const DefaultBatchRules = 1000

// commitsPerTable bounds how many nat transactions BatchRules lets a full
// sync take over existing rules.
const commitsPerTable = 8

// BatchRules returns the batch size for a full sync on iptables-nft over
// existing: DefaultBatchRules, or an eighth of the rules svccheck's chains
// hold in the kernel when that is more. Every nf_tables commit validates
// every rule reachable from the base chains once the table holds rules
// with jumps or xtables targets, so over a large live table each extra
// transaction costs a walk of all of it: rewriting every port chain at
// 10k Services x 10 endpoints took 12.3 s in batches of 1000 rules and
// 6.3-6.9 s in batches of 4000 to 16000 (60000: 8.1 s), while loading the
// same rules into an empty table is fastest in batches of 1000 (3.3 s;
// 4000: 4.1 s). BenchmarkIntegrationSyncReal in proxyimpl measures both.
func BatchRules(existing *Existing) int {
	if existing == nil {
		return DefaultBatchRules
	}
	n := 0
	for _, chains := range existing.Rules {
		for _, rules := range chains {
			n += len(rules)
		}
	}
	return max(DefaultBatchRules, n/commitsPerTable)
}

// WriteFullBatched is WriteFull with the nat table split into several
// transactions ("*nat ... COMMIT" blocks), for iptables-nft, whose restore
// time grows faster than linearly with the size of one transaction. Use it
// with the nft backend only: iptables-legacy rewrites the whole table at
// every COMMIT. batchRules <= 0 means WriteFull.
//
// The blocks are ordered so that every state in between is consistent:
// first the global chains without per-port rules and the hairpin chain
// with the rules of the old endpoints kept, then the ports' own chains, a
// port's chains always in one block of about batchRules rules, and last
// the shared chains (their jumps now all resolve), the exact hairpin chain
// and the deletion of stale chains. While the blocks apply, each
// port's traffic follows either its old or its new rules.
func WriteFullBatched(rs *RuleSet, existing *Existing, batchRules int) ([]byte, Stats) {
	if batchRules <= 0 {
		return WriteFull(rs, existing)
	}
	ordered := sortedServices(rs.Services)
	_, stale, size := fullPlan(rs, ordered, existing)
	var out bytes.Buffer
	out.Grow(size + 4096)
	nat, filter := iptables.TableNAT, iptables.TableFilter
	var st TableStats
	add := func(s TableStats) {
		st.Chains, st.Rules, st.Deleted, st.Kept = st.Chains+s.Chains, st.Rules+s.Rules, st.Deleted+s.Deleted, st.Kept+s.Kept
	}
	// Global chains without per-port rules, and the hairpin chain; then
	// the ports' own chains; then the shared chains.
	var first, shared []Chain
	for _, c := range tableChains(rs, ordered, nat) {
		switch {
		case c.Name == rs.Hairpin.Name:
			// Until its port's block applies, a port's old rules
			// still DNAT to its old endpoints: keep their hairpin
			// rules beside the new ones, and drop them with the
			// shared chains, when no old port rule is left.
			u := hairpinUnion(c, existing)
			first = append(first, u)
			if len(u.Rules) > len(c.Rules) {
				shared = append(shared, c)
			}
		case isShared(nat, c.Name):
			shared = append(shared, c)
		case isGlobal(rs, nat, c.Name):
			first = append(first, c)
		}
	}
	add(writeTable(&out, first, nat, nil, existing))
	add(writePortBlocks(&out, ordered, batchRules, existing))
	add(writeTable(&out, shared, nat, stale[nat], existing))
	// The filter table is small: one transaction, as WriteFull writes it.
	filterStats := writeTable(&out, tableChains(rs, ordered, filter), filter, stale[filter], existing)
	return out.Bytes(), Stats{nat: st, filter: filterStats}
}

// hairpinUnion returns the hairpin chain c with the rules the kernel's
// hairpin chain has and c lacks appended. Each hairpin rule matches one
// endpoint's traffic to itself, so their order does not matter.
func hairpinUnion(c Chain, existing *Existing) Chain {
	if existing == nil {
		return c
	}
	old := existing.Rules[c.Table][c.Name]
	have := make(map[string]bool, len(c.Rules))
	for _, r := range c.Rules {
		have[r] = true
	}
	u := Chain{Table: c.Table, Name: c.Name, Rules: slices.Clone(c.Rules)}
	for _, r := range old {
		if !have[r] {
			u.Rules = append(u.Rules, r)
			have[r] = true
		}
	}
	return u
}

// isGlobal reports whether chain is one of rs's global chains in table t.
func isGlobal(rs *RuleSet, t iptables.Table, chain string) bool {
	for _, g := range rs.Global {
		if g.Table == t && g.Name == chain {
			return true
		}
	}
	return false
}

// writePortBlocks writes the ports' own nat chains that differ from
// existing in transactions of about batchRules rules, never splitting a
// port. The ports go in the order of their chains' names (their hash):
// iptables-nft inserts chains into a name-ordered list.
func writePortBlocks(out *bytes.Buffer, ordered []*ServiceRules, batchRules int, existing *Existing) TableStats {
	byChain := slices.Clone(ordered)
	slices.SortFunc(byChain, func(a, b *ServiceRules) int { return strings.Compare(firstChain(a), firstChain(b)) })
	var st TableStats
	var batch []Chain
	n := 0
	flush := func() {
		s := writeTable(out, batch, iptables.TableNAT, nil, nil)
		st.Chains, st.Rules = st.Chains+s.Chains, st.Rules+s.Rules
		batch, n = batch[:0], 0
	}
	for _, sr := range byChain {
		for _, c := range sr.Chains {
			if c.Table != iptables.TableNAT {
				continue
			}
			if existing.unchanged(c) {
				st.Kept++
				continue
			}
			batch = append(batch, c)
			n += len(c.Rules)
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
