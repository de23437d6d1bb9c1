package conntrack

import (
	"context"
	"fmt"
	"net/netip"
)

// IP protocol numbers of the flows the proxy looks at.
const (
	// ProtoTCP is TCP's IP protocol number.
	ProtoTCP uint8 = 6
	// ProtoUDP is UDP's IP protocol number.
	ProtoUDP uint8 = 17
	// ProtoSCTP is SCTP's IP protocol number.
	ProtoSCTP uint8 = 132
)

// Tuple is one direction of a flow: where its packets come from and go to.
type Tuple struct {
	// Src is the source address and port.
	Src netip.AddrPort
	// Dst is the destination address and port.
	Dst netip.AddrPort
}

// Flow is one connection-tracking entry, as far as the proxy cares.
type Flow struct {
	// Protocol is the IP protocol number, e.g. ProtoUDP.
	Protocol uint8
	// Original is the direction the flow started in: the client's address
	// and the address it sent to (a Service IP or a node port).
	Original Tuple
	// Reply is the direction of the answers. Its source is the endpoint
	// the flow was DNATed to, or the original destination when it was
	// not DNATed at all.
	Reply Tuple
}

// String formats f like "udp 10.0.0.1:40000 -> 10.96.0.10:53 reply from 10.244.1.5:53".
func (f Flow) String() string {
	return fmt.Sprintf("%s %s -> %s reply from %s", protoName(f.Protocol), f.Original.Src, f.Original.Dst, f.Reply.Src)
}

// protoName names the protocols of this package and numbers the others.
func protoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoSCTP:
		return "sctp"
	}
	return fmt.Sprintf("proto-%d", p)
}

// Interface reads the connection-tracking table and deletes flows from it.
type Interface interface {
	// DeleteFlows reads the table of one address family (IPv6 when ipv6
	// is set, else IPv4) and deletes every flow for which stale returns
	// true. It returns how many flows it deleted; a flow that went away
	// before it could be deleted counts as deleted. It goes on past a
	// flow it cannot delete and then returns an error saying how many it
	// could not. A read the kernel interrupted (the table changed while
	// it was read) is used as far as it goes and also returned as an
	// error, so the caller knows to try again.
	DeleteFlows(ctx context.Context, ipv6 bool, stale func(Flow) bool) (int, error)
}
