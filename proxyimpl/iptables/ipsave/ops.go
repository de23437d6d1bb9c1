package ipsave

import (
	"fmt"
	"slices"
	"strings"
)

// applier applies ops to one table. It indexes the chains by name and
// counts how many rules target each name, so that large restores stay
// linear; chain additions and deletions are settled in finish.
type applier struct {
	t       *Table
	lenient bool
	chains  map[ChainName]*Chain
	refs    map[string]int
	deleted map[*Chain]bool
	added   bool
}

func newApplier(t *Table, lenient bool) *applier {
	a := &applier{t: t, lenient: lenient, chains: map[ChainName]*Chain{},
		refs: map[string]int{}, deleted: map[*Chain]bool{}}
	for _, c := range t.Chains {
		a.chains[c.Name] = c
		for _, r := range c.Rules {
			a.refs[r.Target.Name]++
		}
	}
	return a
}

// finish drops deleted chains and puts user chains in iptables-save
// order: after the built-in ones, sorted by name.
func (a *applier) finish() {
	if len(a.deleted) > 0 {
		a.t.Chains = slices.DeleteFunc(a.t.Chains, func(c *Chain) bool { return a.deleted[c] })
	}
	if a.added {
		nb := 0
		for nb < len(a.t.Chains) && a.isBuiltin(a.t.Chains[nb].Name) {
			nb++
		}
		slices.SortStableFunc(a.t.Chains[nb:], func(x, y *Chain) int { return strings.Compare(string(x.Name), string(y.Name)) })
	}
}

func (a *applier) isBuiltin(name ChainName) bool {
	return slices.Contains(builtinChains[a.t.Name], name)
}

func (a *applier) apply(op Op) error {
	ch := a.chains[op.Chain]
	if ch == nil && op.Chain != "" && op.Kind != OpDeclare && op.Kind != OpNewChain {
		return fmt.Errorf("chain %s does not exist", op.Chain)
	}
	switch op.Kind {
	case OpDeclare:
		return a.declare(ch, op)
	case OpNewChain:
		if ch != nil {
			return fmt.Errorf("chain %s already exists", op.Chain)
		}
		a.addChain(&Chain{Name: op.Chain, Policy: "-"})
	case OpFlush:
		for _, c := range a.t.Chains {
			if !a.deleted[c] && (op.Chain == "" || c == ch) {
				a.flush(c)
			}
		}
	case OpDeleteChain:
		return a.deleteChains(ch)
	case OpAppend:
		return a.insert(ch, len(ch.Rules)+1, op.Rule)
	case OpInsert:
		return a.insert(ch, max(op.Num, 1), op.Rule)
	case OpDelete:
		return a.delete(ch, op)
	default:
		return fmt.Errorf("unknown operation %q", op.Kind)
	}
	return nil
}

func (a *applier) addChain(c *Chain) {
	a.t.Chains = append(a.t.Chains, c)
	a.chains[c.Name] = c
	a.added = true
}

func (a *applier) flush(c *Chain) {
	for _, r := range c.Rules {
		a.refs[r.Target.Name]--
	}
	c.Rules = nil
}

func (a *applier) declare(ch *Chain, op Op) error {
	if a.isBuiltin(op.Chain) == (op.Policy == "-") {
		return fmt.Errorf("policy %q does not fit chain %s", op.Policy, op.Chain)
	}
	if ch == nil {
		ch = &Chain{Name: op.Chain}
		a.addChain(ch)
	}
	a.flush(ch)
	ch.Policy = op.Policy
	ch.Counters = Counters{}
	if op.Counters != nil {
		ch.Counters = *op.Counters
	}
	return nil
}

func (a *applier) insert(ch *Chain, pos int, r *Rule) error {
	if pos > len(ch.Rules)+1 {
		return fmt.Errorf("index %d too big for %d rules", pos, len(ch.Rules))
	}
	if err := a.checkTarget(r); err != nil {
		return err
	}
	ch.Rules = slices.Insert(ch.Rules, pos-1, r)
	a.refs[r.Target.Name]++
	return nil
}

func (a *applier) checkTarget(r *Rule) error {
	name := r.Target.Name
	if name == "" {
		return nil
	}
	if tables, ok := extensionTargets[name]; ok {
		if tables != nil && !slices.Contains(tables, a.t.Name) {
			return fmt.Errorf("target %s is not valid in table %s", name, a.t.Name)
		}
		if name == "DNAT" && hasPort(r.Target.ToDestination) && !portProtocol(r) {
			// As iptables says: "Need TCP, UDP, SCTP or DCCP with port specification".
			return fmt.Errorf("DNAT to a port needs -p tcp, udp, sctp or dccp")
		}
		return nil
	}
	if a.isBuiltin(ChainName(name)) {
		return fmt.Errorf("jump to built-in chain %s", name)
	}
	if a.chains[ChainName(name)] == nil {
		if a.lenient {
			return nil
		}
		return fmt.Errorf("jump to missing chain %s", name)
	}
	if len(r.Target.Options) > 0 {
		return fmt.Errorf("jump to chain %s takes no options", name)
	}
	return nil
}

func (a *applier) delete(ch *Chain, op Op) error {
	i := op.Num - 1
	if op.Rule == nil {
		if op.Num < 1 || op.Num > len(ch.Rules) {
			return fmt.Errorf("no rule number %d", op.Num)
		}
	} else {
		want := op.Rule.String()
		i = slices.IndexFunc(ch.Rules, func(r *Rule) bool { return r.String() == want })
		if i < 0 {
			return fmt.Errorf("no such rule: %s", want)
		}
	}
	a.refs[ch.Rules[i].Target.Name]--
	ch.Rules = slices.Delete(ch.Rules, i, i+1)
	return nil
}

// deleteChains deletes one user chain, or every user chain when ch is nil.
func (a *applier) deleteChains(ch *Chain) error {
	if ch != nil {
		switch {
		case a.isBuiltin(ch.Name):
			return fmt.Errorf("cannot delete built-in chain %s", ch.Name)
		case len(ch.Rules) > 0:
			return fmt.Errorf("chain %s is not empty", ch.Name)
		case a.refs[string(ch.Name)] > 0:
			return fmt.Errorf("chain %s is referenced from %s", ch.Name, a.referrer(ch.Name))
		}
		a.remove(ch)
		return nil
	}
	var doomed []*Chain
	for _, c := range a.t.Chains {
		if !a.deleted[c] && !a.isBuiltin(c.Name) {
			doomed = append(doomed, c)
		}
	}
	for _, c := range a.t.Chains {
		for _, r := range c.Rules {
			if a.isBuiltin(c.Name) && a.chains[ChainName(r.Target.Name)] != nil && !a.isBuiltin(ChainName(r.Target.Name)) {
				return fmt.Errorf("chain %s is referenced from %s", r.Target.Name, c.Name)
			}
		}
	}
	for _, c := range doomed {
		a.flush(c)
		a.remove(c)
	}
	return nil
}

func (a *applier) remove(c *Chain) {
	delete(a.chains, c.Name)
	a.deleted[c] = true
}

// referrer names a chain with a rule targeting name, for error messages.
func (a *applier) referrer(name ChainName) ChainName {
	for _, c := range a.t.Chains {
		if !a.deleted[c] && slices.ContainsFunc(c.Rules, func(r *Rule) bool { return r.Target.Name == string(name) }) {
			return c.Name
		}
	}
	return ""
}
