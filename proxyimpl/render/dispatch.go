package render

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// DispatchPrefix starts the names of the dispatch bucket chains (nat):
// "SVCCHK-DSP-<bits>-<bucket>", for example SVCCHK-DSP-7-95 holds the
// dispatch rules of the Service addresses whose lowest 7 bits are 95.
const DispatchPrefix = snapshot.ChainPrefix + "DSP-"

// The dispatch tree: below flatMax Service ports the nat ChainServices
// holds one rule per Service address and port, as kube-proxy's iptables
// mode does. Above it, ChainServices holds one jump per bucket, matching
// the lowest bits of the destination address (-d 0.0.0.95/0.0.0.127),
// and each bucket chain holds the rules of the addresses in it: a first
// packet walks about 2^bits + N/2^bits rules rather than N. The lowest
// bits spread addresses evenly whether they are allocated in sequence or
// at random, inside or outside the Service range (external and load
// balancer IPs go to the bucket of their address too), for IPv4 and
// IPv6 alike.
const (
	// flatMax is the most Service ports dispatched from one flat chain.
	flatMax = 64
	// flatLeave is the fewest Service ports a tree keeps its buckets for
	// before going back to the flat chain.
	flatLeave = 48
	// minDispatchBits and maxDispatchBits bound the number of buckets:
	// 8 to 4096.
	minDispatchBits = 3
	maxDispatchBits = 12
)

// dispatchWindow returns the range of Service port counts for which a
// tree of bits bits is kept: [0.375, 2] x 4^bits (the bucket count is
// the square root of 4^bits), so a count crossing into the next level
// must fall back by a good margin before the tree is re-balanced again.
func dispatchWindow(bits int) (lo, hi int) {
	switch bits {
	case 0:
		return 0, flatMax
	case minDispatchBits:
		return flatLeave, 2 << (2 * bits)
	case maxDispatchBits:
		return 3 << (2*bits - 3), int(^uint(0) >> 1)
	}
	return 3 << (2*bits - 3), 2 << (2 * bits)
}

// idealDispatchBits returns the tree size for n Service ports with no
// layout to keep: flat up to flatMax, else the smallest level whose
// window holds n.
func idealDispatchBits(n int) int {
	if n <= flatMax {
		return 0
	}
	for bits := minDispatchBits; bits < maxDispatchBits; bits++ {
		if _, hi := dispatchWindow(bits); n <= hi {
			return bits
		}
	}
	return maxDispatchBits
}

// nextDispatchBits returns the tree size for n Service ports when the
// kernel holds a tree of prev bits: prev while n stays in its window, so
// that a partial sync adding or removing a Service does not move every
// dispatch rule, else the ideal size for n.
func nextDispatchBits(prev, n int) int {
	if lo, hi := dispatchWindow(prev); n >= lo && n <= hi {
		return prev
	}
	return idealDispatchBits(n)
}

// bucketOf returns the bucket of address a in a tree of bits bits: its
// lowest bits.
func bucketOf(a netip.Addr, bits int) uint32 {
	b := a.As16()
	return binary.BigEndian.Uint32(b[12:]) & (1<<bits - 1)
}

// bucketChain names bucket i of a tree of bits bits.
func bucketChain(bits int, i uint32) string {
	return DispatchPrefix + strconv.Itoa(bits) + "-" + strconv.FormatUint(uint64(i), 10)
}

// bucketMatch returns the -d value matching the addresses of family
// (IPv6 when v6) in bucket i, as iptables-save prints it.
func bucketMatch(bits int, i uint32, v6 bool) string {
	mask := uint32(1<<bits - 1)
	if v6 {
		var a, m [16]byte
		binary.BigEndian.PutUint32(a[12:], i)
		binary.BigEndian.PutUint32(m[12:], mask)
		return netip.AddrFrom16(a).String() + "/" + netip.AddrFrom16(m).String()
	}
	var a, m [4]byte
	binary.BigEndian.PutUint32(a[:], i)
	binary.BigEndian.PutUint32(m[:], mask)
	return netip.AddrFrom4(a).String() + "/" + netip.AddrFrom4(m).String()
}

// dispatchChain returns the nat chain holding the dispatch rules of
// destination a: ChainServices when flat, else a's bucket chain.
func (r *renderer) dispatchChain(a netip.Addr) string {
	if r.bits == 0 {
		return ChainServices
	}
	return bucketChain(r.bits, bucketOf(a, r.bits))
}

// dispatchChains returns the bucket chains (empty ones included, so a
// partial sync can always insert into them) and the nat ChainServices
// rules that jump to them, in bucket order; none when flat.
func (r *renderer) dispatchChains() (buckets []Chain, jumps []string) {
	if r.bits == 0 {
		return nil, nil
	}
	n := uint32(1) << r.bits
	buckets = make([]Chain, 0, n)
	jumps = make([]string, 0, n)
	for i := range n {
		name := bucketChain(r.bits, i)
		buckets = append(buckets, Chain{Table: iptables.TableNAT, Name: name})
		jumps = append(jumps, "-d "+bucketMatch(r.bits, i, r.v6)+" -m comment --comment "+
			quote("svccheck dispatch bucket "+strconv.FormatUint(uint64(i), 10)+" of "+strconv.FormatUint(uint64(n), 10))+" -j "+name)
	}
	return buckets, jumps
}

// SameDispatch reports whether a and b dispatch through the same tree, so
// that a partial sync can take the kernel from one to the other; when
// not, write a full sync.
func SameDispatch(a, b *RuleSet) bool {
	return a.DispatchBits == b.DispatchBits
}

// isShared reports whether chain c of table t holds per-port rules: one
// of the shared global chains or a dispatch bucket chain.
func isShared(t iptables.Table, c string) bool {
	return sharedChains[tableChain{t, c}] || (t == iptables.TableNAT && len(c) > len(DispatchPrefix) && c[:len(DispatchPrefix)] == DispatchPrefix)
}
