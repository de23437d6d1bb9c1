package iptrace

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// maxDepth bounds chain nesting, catching jump loops.
const maxDepth = 64

// pstate is a packet on one path.
type pstate struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        string
	inIf, outIf  string
	path         Path
	recent       map[recentKey]bool
	// local is set for a packet generated on the node.
	local bool
	// hook is the built-in chain being walked.
	hook ipsave.ChainName
}

func (s *pstate) clone() *pstate {
	c := *s
	c.path.Trace = slices.Clip(s.path.Trace)
	c.path.RecentSet = slices.Clip(s.path.RecentSet)
	c.recent = maps.Clone(s.recent)
	return &c
}

// frame is one chain on the call stack and the next rule to look at.
type frame struct {
	chain *ipsave.Chain
	next  int
}

// walker is one path in the middle of a hook.
type walker struct {
	st    *pstate
	stack []frame
}

// Trace walks p through the tables and returns every path it can take.
func (t *Tracer) Trace(p Packet) (*Result, error) {
	st, err := t.initial(p)
	if err != nil {
		return nil, err
	}
	hooks := []hook{{t.nat, ipsave.ChainPrerouting}}
	if p.Local {
		hooks = []hook{{t.nat, ipsave.ChainOutput}}
	}
	live := []*pstate{st}
	var done []*pstate
	for i := 0; i < len(hooks); i++ {
		var next []*pstate
		for _, s := range live {
			out, err := t.runHook(hooks[i], s)
			if err != nil {
				return nil, err
			}
			for _, o := range out {
				if o.path.Verdict != VerdictAccept {
					done = append(done, o)
				} else {
					next = append(next, o)
				}
			}
		}
		live = next
		if len(done)+len(live) > t.MaxPaths {
			return nil, fmt.Errorf("tracing packet: more than %d paths", t.MaxPaths)
		}
		if i == 0 {
			// The routing decision, on the destination after DNAT.
			for _, s := range live {
				s.path.LocalDelivery = t.isLocal(s.dst)
			}
			hooks = append(hooks, laterHooks(t, p.Local)...)
		}
	}
	res := &Result{Packet: p}
	for _, s := range append(done, live...) {
		s.path.Destination = netip.AddrPortFrom(s.dst, s.dport).String()
		res.Paths = append(res.Paths, s.path)
	}
	return res, nil
}

// hook is one built-in chain of one table; a nil table is skipped.
type hook struct {
	table *table
	chain ipsave.ChainName
}

// laterHooks are the hooks after the routing decision; each applies to a
// path only where applies says so.
func laterHooks(t *Tracer, local bool) []hook {
	if local {
		return []hook{{t.filter, ipsave.ChainOutput}, {t.nat, ipsave.ChainPostrouting},
			{t.filter, ipsave.ChainInput}}
	}
	return []hook{{t.filter, ipsave.ChainInput}, {t.nat, ipsave.ChainInput},
		{t.filter, ipsave.ChainForward}, {t.nat, ipsave.ChainPostrouting}}
}

// applies reports whether the packet on s passes through h.
func applies(s *pstate, h hook) bool {
	switch h.chain {
	case ipsave.ChainInput:
		return s.path.LocalDelivery
	case ipsave.ChainForward:
		return !s.path.LocalDelivery
	case ipsave.ChainPostrouting:
		return s.local || !s.path.LocalDelivery
	}
	return true
}

func (t *Tracer) initial(p Packet) (*pstate, error) {
	src, err1 := netip.ParseAddr(p.Source)
	dst, err2 := netip.ParseAddr(p.Destination)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("tracing packet: bad source %q or destination %q", p.Source, p.Destination)
	}
	switch p.Protocol {
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("tracing packet: unsupported protocol %q", p.Protocol)
	}
	st := &pstate{
		src: src.Unmap(), dst: dst.Unmap(), sport: p.SourcePort, dport: p.DestinationPort,
		proto: p.Protocol, inIf: p.InInterface, outIf: p.OutInterface, local: p.Local,
		path:   Path{Probability: 1, Mark: p.Mark, Verdict: VerdictAccept, RulesBeforeDNAT: -1},
		recent: maps.Clone(t.recent),
	}
	st.path.LocalDelivery = p.Local && t.isLocal(st.dst)
	return st, nil
}

// runHook walks s through one built-in chain and returns the resulting
// paths, each with its verdict.
func (t *Tracer) runHook(h hook, s *pstate) ([]*pstate, error) {
	if h.table == nil || !applies(s, h) {
		return []*pstate{s}, nil
	}
	base := h.table.chains.Chain(h.chain)
	if base == nil {
		return []*pstate{s}, nil
	}
	s.hook = h.chain
	work := []*walker{{st: s, stack: []frame{{chain: base}}}}
	var out []*pstate
	for len(work) > 0 {
		w := work[len(work)-1]
		work = work[:len(work)-1]
		next, err := t.step(h.table, w)
		if err != nil {
			return nil, err
		}
		for _, n := range next {
			if len(n.stack) == 0 {
				out = append(out, n.st)
			} else {
				work = append(work, n)
			}
		}
		if len(work)+len(out) > t.MaxPaths {
			return nil, fmt.Errorf("tracing packet: more than %d paths", t.MaxPaths)
		}
	}
	return out, nil
}

// step evaluates the next rule of w (or ends its chain) and returns the
// walkers that result; a walker with an empty stack has finished the hook.
func (t *Tracer) step(tbl *table, w *walker) ([]*walker, error) {
	top := &w.stack[len(w.stack)-1]
	if top.next >= len(top.chain.Rules) {
		t.chainEnd(tbl, w)
		return []*walker{w}, nil
	}
	idx := top.next
	r := top.chain.Rules[idx]
	top.next++
	w.st.path.RulesWalked++
	outs, err := t.evalRule(w.st, r)
	if err != nil {
		return nil, fmt.Errorf("tracing %s %s rule %d (%s): %w", tbl.name, top.chain.Name, idx+1, r, err)
	}
	walkers := make([]*walker, len(outs))
	for i, o := range outs {
		walkers[i] = &walker{st: o.st, stack: slices.Clone(w.stack)}
	}
	for i, o := range outs {
		if !o.matched {
			if o.notable {
				o.st.path.Trace = append(o.st.path.Trace, Step{Table: tbl.name, Chain: top.chain.Name,
					Rule: idx + 1, Text: r.String(), Line: r.Line, NoMatch: true})
			}
			continue
		}
		if err := t.target(tbl, walkers[i], r, idx); err != nil {
			return nil, fmt.Errorf("tracing %s %s rule %d (%s): %w", tbl.name, top.chain.Name, idx+1, r, err)
		}
	}
	return walkers, nil
}

// chainEnd returns from the current chain; at the end of the built-in
// chain its policy decides.
func (t *Tracer) chainEnd(tbl *table, w *walker) {
	base := w.stack[0].chain
	w.stack = w.stack[:len(w.stack)-1]
	if len(w.stack) > 0 {
		return
	}
	s := Step{Table: tbl.name, Chain: base.Name, Text: "policy " + base.Policy}
	w.st.path.Trace = append(w.st.path.Trace, s)
	finish(tbl, w, Verdict(base.Policy), s)
}

// finish ends the hook for w with verdict v decided by step s.
func finish(tbl *table, w *walker, v Verdict, s Step) {
	w.stack = nil
	w.st.path.Verdict = v
	if tbl.name == ipsave.TableFilter || v != VerdictAccept {
		w.st.path.VerdictStep = s
	}
}

// target applies the target of rule r (number idx) that matched.
func (t *Tracer) target(tbl *table, w *walker, r *ipsave.Rule, idx int) error {
	st := w.st
	top := &w.stack[len(w.stack)-1]
	s := Step{Table: tbl.name, Chain: top.chain.Name, Rule: idx + 1, Text: r.String(), Line: r.Line}
	st.path.Trace = append(st.path.Trace, s)
	tg := r.Target
	switch tg.Name {
	case "", "LOG":
	case "ACCEPT", "DROP", "REJECT":
		finish(tbl, w, Verdict(tg.Name), s)
	case "RETURN":
		top.next = len(top.chain.Rules)
	case "DNAT":
		return t.dnat(tbl, w, r, s)
	case "SNAT", "MASQUERADE":
		st.path.Masquerade = true
		finish(tbl, w, VerdictAccept, s)
	case "MARK":
		st.path.Mark = tg.Mark.Apply(st.path.Mark)
	default:
		if ipsave.IsExtensionTarget(tg.Name) {
			return fmt.Errorf("target %s is not supported by the tracer", tg.Name)
		}
		next := tbl.chains.Chain(ipsave.ChainName(tg.Name))
		if next == nil {
			return fmt.Errorf("jump to missing chain %s", tg.Name)
		}
		if len(w.stack) >= maxDepth {
			return fmt.Errorf("chains nest deeper than %d: a loop?", maxDepth)
		}
		if tg.Goto {
			top.next = len(top.chain.Rules)
		}
		w.stack = append(w.stack, frame{chain: next})
	}
	return nil
}

func (t *Tracer) dnat(tbl *table, w *walker, r *ipsave.Rule, s Step) error {
	st := w.st
	dest := r.Target.ToDestination
	if ap, err := netip.ParseAddrPort(dest); err == nil {
		st.dst, st.dport = ap.Addr().Unmap(), ap.Port()
	} else if a, err := netip.ParseAddr(dest); err == nil {
		st.dst = a.Unmap()
	} else {
		return fmt.Errorf("unsupported --to-destination %q", dest)
	}
	if !st.path.DNAT {
		st.path.RulesBeforeDNAT = st.path.RulesWalked - 1
	}
	st.path.DNAT = true
	finish(tbl, w, VerdictAccept, s)
	return nil
}
