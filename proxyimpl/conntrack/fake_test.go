package conntrack

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// udp returns a UDP flow from client to dst answered from replySrc.
func udp(client, dst, replySrc string) Flow {
	ap := netip.MustParseAddrPort
	return Flow{Protocol: ProtoUDP,
		Original: Tuple{Src: ap(client), Dst: ap(dst)},
		Reply:    Tuple{Src: ap(replySrc), Dst: ap(client)}}
}

// addrPortCmp compares netip values in cmp.Diff.
var addrPortCmp = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

func TestFakeDeleteFlows(t *testing.T) {
	v4a := udp("10.0.0.9:40000", "10.96.0.53:53", "10.244.1.5:5353")
	v4b := udp("10.0.0.9:40001", "10.96.0.53:53", "10.244.2.6:5353")
	v6 := udp("[fd00::9]:40000", "[fd00::53]:53", "[fd00::1:5]:5353")
	f := NewFake(v4a, v4b, v6)
	all := func(Flow) bool { return true }
	n, err := f.DeleteFlows(t.Context(), false, func(fl Flow) bool { return fl.Reply.Src.Port() == 5353 && fl == v4a })
	if err != nil || n != 1 {
		t.Fatalf("DeleteFlows = %d, %v; want 1, nil", n, err)
	}
	if diff := cmp.Diff([]Flow{v4b, v6}, f.Flows(), addrPortCmp); diff != "" {
		t.Errorf("flows left (-want +got):\n%s", diff)
	}
	f.SetErr(errors.New("operation not permitted"))
	if n, err := f.DeleteFlows(t.Context(), false, all); err == nil || n != 0 || len(f.Flows()) != 2 {
		t.Errorf("DeleteFlows with an error set = %d, %v, %d flows left; want 0, an error, 2 left", n, err, len(f.Flows()))
	}
	f.SetErr(nil)
	if n, err := f.DeleteFlows(t.Context(), true, all); err != nil || n != 1 {
		t.Errorf("DeleteFlows of IPv6 = %d, %v; want 1, nil", n, err)
	}
	if diff := cmp.Diff([]Flow{v4b}, f.Flows(), addrPortCmp); diff != "" {
		t.Errorf("flows left (-want +got):\n%s", diff)
	}
	if f.Calls() != 3 {
		t.Errorf("Calls() = %d, want 3", f.Calls())
	}
}
