package conntrack

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// DeleteFlows implements Interface. It opens a netlink socket for the
// call, so nothing is kept open between syncs.
func (n *Netlink) DeleteFlows(ctx context.Context, ipv6 bool, stale func(Flow) bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("deleting conntrack flows: %w", err)
	}
	h, err := n.handle()
	if err != nil {
		return 0, err
	}
	defer h.Close()
	family, name := netlink.InetFamily(unix.AF_INET), "IPv4"
	if ipv6 {
		family, name = netlink.InetFamily(unix.AF_INET6), "IPv6"
	}
	deleted, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, family, matcher(stale))
	if err != nil {
		return int(deleted), fmt.Errorf("deleting %s conntrack flows (%d deleted): %w", name, deleted, err)
	}
	return int(deleted), nil
}

// handle opens a netfilter netlink socket in n's namespace.
func (n *Netlink) handle() (*netlink.Handle, error) {
	if n.nsPath == "" {
		h, err := netlink.NewHandle(unix.NETLINK_NETFILTER)
		if err != nil {
			return nil, fmt.Errorf("opening a netfilter netlink socket: %w", err)
		}
		return h, nil
	}
	ns, err := netns.GetFromPath(n.nsPath)
	if err != nil {
		return nil, fmt.Errorf("opening network namespace %s: %w", n.nsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("opening a netfilter netlink socket in %s: %w", n.nsPath, err)
	}
	return h, nil
}

// matcher adapts a selection function to netlink's filter interface.
type matcher func(Flow) bool

// MatchConntrackFlow implements netlink.CustomConntrackFilter.
func (m matcher) MatchConntrackFlow(f *netlink.ConntrackFlow) bool {
	return m(fromNetlink(f))
}

// fromNetlink converts a parsed netlink flow.
func fromNetlink(f *netlink.ConntrackFlow) Flow {
	return Flow{
		Protocol: f.Forward.Protocol,
		Original: Tuple{Src: addrPort(f.Forward.SrcIP, f.Forward.SrcPort), Dst: addrPort(f.Forward.DstIP, f.Forward.DstPort)},
		Reply:    Tuple{Src: addrPort(f.Reverse.SrcIP, f.Reverse.SrcPort), Dst: addrPort(f.Reverse.DstIP, f.Reverse.DstPort)},
	}
}

// addrPort converts an address (4 or 16 bytes, IPv4 unmapped) and a port;
// an unparsable address becomes the zero Addr, which matches no Service.
func addrPort(ip net.IP, port uint16) netip.AddrPort {
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), port)
}
