package iptrace

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// Packet is the first packet of a connection to trace.
type Packet struct {
	// Source and Destination are IP addresses.
	Source      string
	Destination string
	// Protocol is "tcp", "udp" or "sctp".
	Protocol string
	// SourcePort is only needed when rules match on --sport.
	SourcePort      uint16
	DestinationPort uint16
	// Local marks a packet generated on the node itself, by a process in
	// the node's network namespace (nat and filter OUTPUT), rather than
	// one arriving from outside or from a pod on the node (nat
	// PREROUTING).
	Local bool
	// InInterface and OutInterface are only needed when rules match -i or
	// -o; a locally delivered packet leaves through and enters on "lo".
	InInterface  string
	OutInterface string
	// Mark is the packet mark the packet starts with.
	Mark uint32
}

// Verdict is what finally happened to a packet.
type Verdict string

// Verdicts.
const (
	VerdictAccept Verdict = "ACCEPT"
	VerdictDrop   Verdict = "DROP"
	VerdictReject Verdict = "REJECT"
)

// Step is one rule a packet matched, or a chain policy it reached.
type Step struct {
	Table ipsave.TableName
	Chain ipsave.ChainName
	// Rule is the 1-based rule number, 0 for the chain's policy.
	Rule int
	// Text is the rule text, or "policy ACCEPT".
	Text string
	// Line is the rule's line in the parsed input, 0 when unknown or for
	// a policy.
	Line int
	// NoMatch marks a rule that was evaluated and did not match but is
	// worth showing: a statistic branch not taken, or a -m recent check
	// (session affinity) that found no entry. Every other step matched.
	NoMatch bool
}

// String formats the step as "nat SVCCHK-SERVICES #3: -d ... -j X".
func (s Step) String() string {
	if s.NoMatch {
		return fmt.Sprintf("%s %s #%d (no match): %s", s.Table, s.Chain, s.Rule, s.Text)
	}
	return fmt.Sprintf("%s %s #%d: %s", s.Table, s.Chain, s.Rule, s.Text)
}

// Path is one way a packet can go: statistic matches fork a trace into
// one path per branch.
type Path struct {
	// Probability is the product of the statistic branches taken.
	Probability float64
	// Destination is the final "ip:port", after any DNAT.
	Destination string
	// DNAT is set when a DNAT target rewrote the destination.
	DNAT bool
	// RulesBeforeDNAT counts the rules evaluated before the DNAT rule
	// (matched or not, the DNAT rule itself not included); meaningful only
	// when DNAT is set.
	RulesBeforeDNAT int
	// RulesWalked counts every rule evaluated on the path.
	RulesWalked int
	// LocalDelivery is set when the final destination is a local address.
	LocalDelivery bool
	// Masquerade is set when MASQUERADE (or SNAT) was reached. Like the
	// kernel, a packet delivered locally never walks nat POSTROUTING, so
	// a masquerade mark alone does not set it.
	Masquerade bool
	// Mark is the packet mark at the end.
	Mark uint32
	// RecentSet names the -m recent lists the path added its address to.
	RecentSet []string
	// Verdict is what finally happened.
	Verdict Verdict
	// VerdictStep is the rule (or policy) that gave the verdict: the one
	// that dropped or rejected the packet, or for accepted packets the
	// last filter-table decision.
	VerdictStep Step
	// Trace lists every rule matched and policy reached, in order.
	Trace []Step
}

// Result is every path a traced packet can take.
type Result struct {
	Packet Packet
	Paths  []Path
}

// Endpoints returns the sorted, distinct final destinations of the
// accepted paths.
func (r *Result) Endpoints() []string {
	var out []string
	for _, p := range r.Paths {
		if p.Verdict == VerdictAccept && !slices.Contains(out, p.Destination) {
			out = append(out, p.Destination)
		}
	}
	slices.Sort(out)
	return out
}

// Verdicts returns the sorted, distinct verdicts of all paths.
func (r *Result) Verdicts() []Verdict {
	var out []Verdict
	for _, p := range r.Paths {
		if !slices.Contains(out, p.Verdict) {
			out = append(out, p.Verdict)
		}
	}
	slices.Sort(out)
	return out
}

// Masqueraded reports whether every accepted path was masqueraded
// (all) and whether any was (any).
func (r *Result) Masqueraded() (all, any bool) {
	all = true
	n := 0
	for _, p := range r.Paths {
		if p.Verdict != VerdictAccept {
			continue
		}
		n++
		all = all && p.Masquerade
		any = any || p.Masquerade
	}
	return all && n > 0, any
}

// String prints each path with its trace, for test failure messages.
func (r *Result) String() string {
	var b strings.Builder
	pk := r.Packet
	fmt.Fprintf(&b, "packet %s %s -> %s:%d (local=%v): %d path(s)\n", pk.Protocol, pk.Source,
		pk.Destination, pk.DestinationPort, pk.Local, len(r.Paths))
	for i, p := range r.Paths {
		fmt.Fprintf(&b, "path %d (p=%.4g): %s to %s masquerade=%v dnat=%v rulesBeforeDNAT=%d walked=%d\n",
			i+1, p.Probability, p.Verdict, p.Destination, p.Masquerade, p.DNAT, p.RulesBeforeDNAT, p.RulesWalked)
		for _, s := range p.Trace {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	return b.String()
}

// recentKey is one entry of a -m recent list.
type recentKey struct {
	list string
	addr netip.Addr
}

// Tracer walks packets through parsed nat and filter tables the way
// netfilter handles the first packet of a connection: nat PREROUTING (or
// nat and filter OUTPUT for a local packet), the routing decision, filter
// INPUT or FORWARD, nat POSTROUTING. A statistic match forks the walk into
// both branches; -m recent lists start empty unless AddRecent fills them,
// so --rcheck and --update do not match by default. A match or target the
// tracer cannot evaluate is an error, never silently true. The raw and
// mangle tables are not walked.
type Tracer struct {
	nat    *table
	filter *table
	local  []netip.Addr
	recent map[recentKey]bool
	// MaxPaths bounds the number of paths of one trace (default 10000).
	MaxPaths int
}

// Chains finds a table's chains by name, nil for a missing one. An
// *ipsave.Table is one; a reader that parses a chain's rules when first
// asked for it is another.
type Chains interface {
	Chain(name ipsave.ChainName) *ipsave.Chain
}

// table is a table the tracer walks.
type table struct {
	name   ipsave.TableName
	chains Chains
}

// New returns a tracer over the dump's nat and filter tables (either
// may be missing) for a node owning localAddrs. Loopback addresses are
// always local.
func New(d *ipsave.Dump, localAddrs ...string) (*Tracer, error) {
	var nat, filter Chains
	if t := d.Table(ipsave.TableNAT); t != nil {
		nat = t
	}
	if t := d.Table(ipsave.TableFilter); t != nil {
		filter = t
	}
	return NewChains(nat, filter, localAddrs...)
}

// NewChains is New over chains found by name: the tracer asks nat and
// filter (either may be nil) for the chains the packet reaches only.
func NewChains(nat, filter Chains, localAddrs ...string) (*Tracer, error) {
	t := &Tracer{recent: map[recentKey]bool{}, MaxPaths: 10000}
	if nat != nil {
		t.nat = &table{name: ipsave.TableNAT, chains: nat}
	}
	if filter != nil {
		t.filter = &table{name: ipsave.TableFilter, chains: filter}
	}
	for _, s := range localAddrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("parsing local address: %w", err)
		}
		t.local = append(t.local, a.Unmap())
	}
	return t, nil
}

// AddRecent puts addr on the -m recent list named list, as if a packet had
// just been seen: --rcheck and --update for it then match.
func (t *Tracer) AddRecent(list, addr string) error {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("parsing recent address: %w", err)
	}
	t.recent[recentKey{list: list, addr: a.Unmap()}] = true
	return nil
}

// isLocal reports whether a is one of the node's addresses.
func (t *Tracer) isLocal(a netip.Addr) bool {
	return a.IsLoopback() || slices.Contains(t.local, a)
}
