package conntrack

import (
	"context"
	"slices"
	"sync"
)

// Fake is a conntrack table in memory: DeleteFlows removes the flows it
// selects. It is safe for concurrent use.
type Fake struct {
	mu    sync.Mutex
	flows []Flow
	calls int
	err   error
}

var _ Interface = (*Fake)(nil)

// NewFake returns a Fake holding flows.
func NewFake(flows ...Flow) *Fake { return &Fake{flows: slices.Clone(flows)} }

// Add puts flows in the table.
func (f *Fake) Add(flows ...Flow) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flows = append(f.flows, flows...)
}

// Flows returns the flows in the table, in the order they were added.
func (f *Fake) Flows() []Flow {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.flows)
}

// Calls returns how many times DeleteFlows was called.
func (f *Fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// SetErr makes every later DeleteFlows delete nothing and return err;
// nil makes it work again.
func (f *Fake) SetErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// DeleteFlows implements Interface. A flow belongs to the IPv6 table when
// its original destination is an IPv6 address.
func (f *Fake) DeleteFlows(_ context.Context, ipv6 bool, stale func(Flow) bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return 0, f.err
	}
	before := len(f.flows)
	f.flows = slices.DeleteFunc(f.flows, func(fl Flow) bool {
		return fl.Original.Dst.Addr().Is6() == ipv6 && stale(fl)
	})
	return before - len(f.flows), nil
}
