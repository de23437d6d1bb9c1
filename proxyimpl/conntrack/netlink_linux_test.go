package conntrack

import (
	"context"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestFromNetlink(t *testing.T) {
	got := fromNetlink(&netlink.ConntrackFlow{
		Forward: netlink.IPTuple{Protocol: unix.IPPROTO_UDP, SrcIP: net.ParseIP("10.0.0.9"), SrcPort: 40000, DstIP: net.IPv4(10, 96, 0, 53).To4(), DstPort: 53},
		Reverse: netlink.IPTuple{Protocol: unix.IPPROTO_UDP, SrcIP: net.ParseIP("10.244.1.5"), SrcPort: 5353, DstIP: net.ParseIP("10.0.0.9"), DstPort: 40000},
	})
	if diff := cmp.Diff(udp("10.0.0.9:40000", "10.96.0.53:53", "10.244.1.5:5353"), got, addrPortCmp); diff != "" {
		t.Errorf("converted flow (-want +got):\n%s", diff)
	}
}

// scratchNS makes a network namespace for this test and deletes it when
// the test ends; it returns the namespace's file.
func scratchNS(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("integration test: needs root")
	}
	name := fmt.Sprintf("svcchk-%d-ct", os.Getpid())
	if out, err := osexec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := osexec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", name, err, out)
		}
	})
	return filepath.Join("/run/netns", name)
}

// create puts f in the conntrack table of namespace path.
func create(t *testing.T, path string, f Flow) {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tuple := func(tp Tuple) netlink.IPTuple {
		return netlink.IPTuple{Protocol: f.Protocol, SrcIP: tp.Src.Addr().AsSlice(), SrcPort: tp.Src.Port(), DstIP: tp.Dst.Addr().AsSlice(), DstPort: tp.Dst.Port()}
	}
	family := uint8(unix.AF_INET)
	if f.Original.Dst.Addr().Is6() {
		family = unix.AF_INET6
	}
	nf := &netlink.ConntrackFlow{FamilyType: family, Forward: tuple(f.Original), Reverse: tuple(f.Reply), TimeOut: 120}
	if err := h.ConntrackCreate(netlink.ConntrackTable, netlink.InetFamily(family), nf); err != nil {
		t.Fatalf("creating conntrack flow %s: %v", f, err)
	}
}

// list returns the flows of one family in namespace path.
func list(t *testing.T, n *Netlink, ipv6 bool) []Flow {
	t.Helper()
	var out []Flow
	if _, err := n.DeleteFlows(context.Background(), ipv6, func(f Flow) bool { out = append(out, f); return false }); err != nil {
		t.Fatalf("listing flows: %v", err)
	}
	return out
}

// TestIntegrationNetlink deletes flows from a real conntrack table, in a
// namespace of its own: the flows selected go, the others and those of
// the other family stay, and the tuples read back are those written.
func TestIntegrationNetlink(t *testing.T) {
	path := scratchNS(t)
	stale := udp("10.0.0.9:40000", "10.96.0.53:53", "10.244.1.5:5353")
	live := udp("10.0.0.9:40001", "10.96.0.53:53", "10.244.2.6:5353")
	v6 := udp("[fd00::9]:40000", "[fd00::53]:53", "[fd00::1:5]:5353")
	for _, f := range []Flow{stale, live, v6} {
		create(t, path, f)
	}
	n := NewInNamespace(path)
	deleted, err := n.DeleteFlows(t.Context(), false, func(f Flow) bool { return f.Reply.Src == stale.Reply.Src })
	if err != nil || deleted != 1 {
		t.Fatalf("DeleteFlows = %d, %v; want 1, nil", deleted, err)
	}
	if diff := cmp.Diff([]Flow{live}, list(t, n, false), addrPortCmp); diff != "" {
		t.Errorf("IPv4 flows left (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Flow{v6}, list(t, n, true), addrPortCmp); diff != "" {
		t.Errorf("IPv6 flows left (-want +got):\n%s", diff)
	}
	for _, f := range list(t, New(), false) {
		if f == live {
			t.Errorf("the namespace's flow %s shows in the test process's own table", f)
		}
	}
}
