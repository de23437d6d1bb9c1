package render

import (
	"slices"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// WritePartial returns restore text taking the kernel from prev (which must
// have been applied) to next, touching only the ports in changed: their own
// chains are declared (flushed) and refilled, chains they no longer have
// are flushed and deleted, and in the shared chains their old rules are
// deleted with -D and their new ones inserted at the top with -I. Hairpin
// rules are deleted and appended one by one; global chains without
// per-port rules are rewritten whole when they differ. Unchanged ports
// produce no lines; nothing to do yields empty text. When next dispatches
// through another tree than prev (see SameDispatch), every port's
// dispatch rules move: it returns WriteFull(next, nil), which leaves
// prev's bucket chains, unreferenced, to the next full sync; write a
// full sync instead.
func WritePartial(prev, next *RuleSet, changed map[snapshot.ServicePortName]bool) ([]byte, Stats) {
	if !SameDispatch(prev, next) {
		return WriteFull(next, nil)
	}
	tws := newTableWriters()
	names := make([]snapshot.ServicePortName, 0, len(changed))
	for n, ok := range changed {
		if ok {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, snapshot.ServicePortName.Compare)

	var refill []Chain
	for _, g := range next.Global {
		if isShared(g.Table, g.Name) {
			continue
		}
		if old := findChain(prev.Global, g.Table, g.Name); old == nil || !slices.Equal(old.Rules, g.Rules) {
			tws[g.Table].declare(g.Name)
			refill = append(refill, g)
		}
	}
	editHairpin(tws[next.Hairpin.Table], prev.Hairpin, next.Hairpin)

	for _, n := range names {
		oldSR, newSR := prev.Services[n], next.Services[n]
		if newSR != nil {
			for _, c := range newSR.Chains {
				tws[c.Table].declare(c.Name)
				refill = append(refill, c)
			}
		}
		if oldSR != nil {
			for _, c := range oldSR.Chains {
				if newSR == nil || findChain(newSR.Chains, c.Table, c.Name) == nil {
					tws[c.Table].declare(c.Name)
					tws[c.Table].deletes = append(tws[c.Table].deletes, c.Name)
				}
			}
		}
		editShared(tws, oldSR, newSR)
	}
	for _, c := range refill {
		tws[c.Table].appendChain(c)
	}
	return finish(tws)
}

// editShared emits -D for old's shared rules that new lacks and -I (at the
// top, keeping the node port jump last) for new's rules that old lacks.
func editShared(tws map[iptables.Table]*tableWriter, old, cur *ServiceRules) {
	var oldRules, newRules []Rule
	if old != nil {
		oldRules = old.Shared
	}
	if cur != nil {
		newRules = cur.Shared
	}
	for _, r := range oldRules {
		if !slices.Contains(newRules, r) {
			tws[r.Table].line("-D", r.Chain, r.Spec)
		}
	}
	for i := len(newRules) - 1; i >= 0; i-- {
		r := newRules[i]
		if !slices.Contains(oldRules, r) {
			tws[r.Table].line("-I", r.Chain, "1 "+r.Spec)
		}
	}
}

// editHairpin deletes the hairpin rules old has and cur lacks and appends
// the ones cur adds; the rules are independent of each other, so their
// order does not matter and the chain is never rewritten whole.
func editHairpin(tw *tableWriter, old, cur Chain) {
	if slices.Equal(old.Rules, cur.Rules) {
		return
	}
	had := make(map[string]bool, len(old.Rules))
	for _, r := range old.Rules {
		had[r] = true
	}
	has := make(map[string]bool, len(cur.Rules))
	for _, r := range cur.Rules {
		has[r] = true
	}
	for _, r := range old.Rules {
		if !has[r] {
			tw.line("-D", old.Name, r)
		}
	}
	for _, r := range cur.Rules {
		if !had[r] {
			tw.line("-A", cur.Name, r)
		}
	}
}

// findChain returns the chain of chains with that table and name, or nil.
func findChain(chains []Chain, table iptables.Table, name string) *Chain {
	for i := range chains {
		if chains[i].Table == table && chains[i].Name == name {
			return &chains[i]
		}
	}
	return nil
}

// WriteCleanup returns restore text that flushes and deletes every chain
// in existing (per table) that starts with snapshot.ChainPrefix. Delete
// the Hooks rules first: a chain still referenced cannot be deleted.
func WriteCleanup(existing map[iptables.Table][]string) ([]byte, Stats) {
	tws := newTableWriters()
	for t, chains := range staleChains(existing, nil) {
		for _, c := range chains {
			tws[t].declare(c)
			tws[t].deletes = append(tws[t].deletes, c)
		}
	}
	return finish(tws)
}
