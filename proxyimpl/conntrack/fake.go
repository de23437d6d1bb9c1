package conntrack

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
)

// Fake records the deletions asked of it, as conntrack argument lists, and
// deletes nothing. It is safe for concurrent use.
type Fake struct {
	mu    sync.Mutex
	calls [][]string
	// Err, when set, is returned by every call (after recording it).
	Err error
}

var _ Interface = (*Fake)(nil)

// NewFake returns an empty Fake.
func NewFake() *Fake { return &Fake{} }

// Calls returns the recorded calls, oldest first, each as the arguments Exec
// would pass to conntrack.
func (f *Fake) Calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([][]string, len(f.calls))
	copy(out, f.calls)
	return out
}

// Reset forgets the recorded calls.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func (f *Fake) record(args []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, args)
	return f.Err
}

// ClearServicePort implements Interface.
func (f *Fake) ClearServicePort(_ context.Context, vip netip.Addr, port int) error {
	return f.record(Args(family(vip.Is6()), "--orig-dst", vip.String(), "--orig-port-dst", strconv.Itoa(port)))
}

// ClearNodePort implements Interface.
func (f *Fake) ClearNodePort(_ context.Context, port int, ipv6 bool) error {
	return f.record(Args(family(ipv6), "--orig-port-dst", strconv.Itoa(port)))
}

// ClearNAT implements Interface.
func (f *Fake) ClearNAT(_ context.Context, vip, endpoint netip.Addr) error {
	return f.record(Args(family(vip.Is6()), "--orig-dst", vip.String(), "--dst-nat", endpoint.String()))
}

// ClearNodePortNAT implements Interface.
func (f *Fake) ClearNodePortNAT(_ context.Context, port int, endpoint netip.Addr) error {
	return f.record(Args(family(endpoint.Is6()), "--orig-port-dst", strconv.Itoa(port), "--dst-nat", endpoint.String()))
}
