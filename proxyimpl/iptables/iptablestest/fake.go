package iptablestest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// Calls counts the calls a Fake received, per method.
type Calls struct {
	Restore     int
	Save        int
	EnsureChain int
	EnsureRule  int
	DeleteRule  int
}

// Fake is a stateful in-memory iptables.Interface. Restore applies
// restore text with --noflush semantics and fails, atomically, where the
// real tools fail; Save prints iptables-save-like text. It is safe for
// concurrent use.
type Fake struct {
	mu       sync.Mutex
	backend  iptables.Backend
	dump     *ipsave.Dump
	calls    Calls
	failNext error
	restores [][]byte
}

var _ iptables.Interface = (*Fake)(nil)

// NewFake returns a Fake with empty nat and filter tables (built-in chains
// only, policy ACCEPT) that reports the nft backend.
func NewFake() *Fake {
	d := &ipsave.Dump{Tables: []*ipsave.Table{ipsave.NewTable(iptables.TableNAT), ipsave.NewTable(iptables.TableFilter)}}
	return &Fake{backend: iptables.BackendNFT, dump: d}
}

// SetBackend sets what Backend reports.
func (f *Fake) SetBackend(b iptables.Backend) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.backend = b
}

// Backend implements iptables.Interface.
func (f *Fake) Backend() iptables.Backend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.backend
}

// FailNextRestore makes the next Restore return err (wrapped) and change
// nothing.
func (f *Fake) FailNextRestore(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = err
}

// Calls returns how many calls each method received so far.
func (f *Fake) Calls() Calls {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Restores returns the data of every Restore call so far, failed ones
// included, oldest first.
func (f *Fake) Restores() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.restores)
}

// LastRestore returns the data of the latest Restore call, nil if none.
func (f *Fake) LastRestore() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.restores) == 0 {
		return nil
	}
	return f.restores[len(f.restores)-1]
}

// Dump returns a copy of the current tables.
func (f *Fake) Dump() *ipsave.Dump {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dump.Clone()
}

// Restore implements iptables.Interface. Counters in data are ignored, as
// iptables-restore ignores them without --counters.
func (f *Fake) Restore(_ context.Context, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls.Restore++
	f.restores = append(f.restores, slices.Clone(data))
	if err := f.failNext; err != nil {
		f.failNext = nil
		return fmt.Errorf("restoring rules: %w", err)
	}
	s, err := ipsave.ParseScript(data)
	if err != nil {
		return fmt.Errorf("restoring rules: %w", err)
	}
	for _, t := range s.Tables {
		for i := range t.Ops {
			t.Ops[i].Counters = nil
			if r := t.Ops[i].Rule; r != nil && r.Counters != nil {
				nr := *r
				nr.Counters = nil
				t.Ops[i].Rule = &nr
			}
		}
	}
	if err := f.dump.Apply(s); err != nil {
		return fmt.Errorf("restoring rules: %w", err)
	}
	return nil
}

// Save implements iptables.Interface. With counters, every rule carries
// "[0:0]" (the Fake moves no packets).
func (f *Fake) Save(_ context.Context, table iptables.Table, counters bool) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls.Save++
	d := f.dump.Clone()
	tables := d.Tables
	if table != iptables.TableAll {
		t, err := d.EnsureTable(table)
		if err != nil {
			return nil, fmt.Errorf("saving table %s: %w", table, err)
		}
		tables = []*ipsave.Table{t}
	}
	var out strings.Builder
	for _, t := range tables {
		for _, c := range t.Chains {
			for i, r := range c.Rules {
				nr := *r
				nr.Counters = nil
				if counters {
					nr.Counters = &ipsave.Counters{}
				}
				c.Rules[i] = &nr
			}
		}
		out.WriteString(t.String())
	}
	return []byte(out.String()), nil
}

// EnsureChain implements iptables.Interface.
func (f *Fake) EnsureChain(_ context.Context, table iptables.Table, chain iptables.Chain) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls.EnsureChain++
	return f.applyLocked(table, ipsave.Op{Kind: ipsave.OpNewChain, Chain: chain}, true)
}

// EnsureRule implements iptables.Interface.
func (f *Fake) EnsureRule(_ context.Context, table iptables.Table, chain iptables.Chain, args ...string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls.EnsureRule++
	r, err := ipsave.ParseRule(args...)
	if err != nil {
		return false, fmt.Errorf("ensuring rule in %s %s: %w", table, chain, err)
	}
	if f.hasRuleLocked(table, chain, r) {
		return true, nil
	}
	return false, f.applyLocked(table, ipsave.Op{Kind: ipsave.OpInsert, Chain: chain, Num: 1, Rule: r}, false)
}

// DeleteRule implements iptables.Interface.
func (f *Fake) DeleteRule(_ context.Context, table iptables.Table, chain iptables.Chain, args ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls.DeleteRule++
	r, err := ipsave.ParseRule(args...)
	if err != nil {
		return fmt.Errorf("deleting rule from %s %s: %w", table, chain, err)
	}
	if !f.hasRuleLocked(table, chain, r) {
		return nil
	}
	return f.applyLocked(table, ipsave.Op{Kind: ipsave.OpDelete, Chain: chain, Rule: r}, false)
}

func (f *Fake) hasRuleLocked(table iptables.Table, chain iptables.Chain, r *ipsave.Rule) bool {
	t := f.dump.Table(table)
	if t == nil {
		return false
	}
	c := t.Chain(chain)
	if c == nil {
		return false
	}
	want := r.String()
	return slices.ContainsFunc(c.Rules, func(x *ipsave.Rule) bool { return x.String() == want })
}

// applyLocked applies one op; with existsOK an "already exists" is fine.
func (f *Fake) applyLocked(table iptables.Table, op ipsave.Op, existsOK bool) error {
	if existsOK {
		if t := f.dump.Table(table); t != nil && t.Chain(op.Chain) != nil {
			return nil
		}
	}
	err := f.dump.Apply(&ipsave.Script{Tables: []*ipsave.TableScript{{Name: table, Ops: []ipsave.Op{op}}}})
	if err != nil {
		return fmt.Errorf("running %s %s in table %s: %w", op.Kind, op.Chain, table, err)
	}
	return nil
}

// Rules returns the rules of one chain as restore text lines ("-A CHAIN
// ..."), for compact assertions; nil when the chain does not exist.
func (f *Fake) Rules(table iptables.Table, chain iptables.Chain) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.dump.Table(table)
	if t == nil || t.Chain(chain) == nil {
		return nil
	}
	out := []string{}
	for _, r := range t.Chain(chain).Rules {
		out = append(out, strings.TrimSpace(ipsave.RuleLine(string(ipsave.OpAppend), chain, 0, r)))
	}
	return out
}
