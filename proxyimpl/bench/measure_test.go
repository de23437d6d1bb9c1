package main

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// TestDispatchEnds checks that the Services traced for the most rules
// walked are the last Service rule of each dispatch chain, whatever order
// the Services were added in, and that chains with one Service rule (a
// per-Service chain's masquerade rule, a bucket of one) are left out.
func TestDispatchEnds(t *testing.T) {
	dump, err := ipsave.Parse([]byte(`*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [0:0]
:KUBE-SVC-B - [0:0]
:KUBE-SVC-C - [0:0]
:KUBE-MARK-MASQ - [0:0]
:BUCKET - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.3/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-C
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SERVICES -d 10.96.0.2/32 -p udp -m udp --dport 53 -j KUBE-SVC-B
-A KUBE-SERVICES -d 10.96.0.0/24 -p tcp -m tcp --dport 80 -j KUBE-SVC-B
-A KUBE-SERVICES -d 10.96.0.9/32 -p tcp -m tcp --dport 80 -j DROP
-A KUBE-SVC-A ! -s 10.212.0.0/16 -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-B -d 10.96.0.2/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
-A BUCKET -d 10.96.1.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A
-A BUCKET -d 10.96.1.2/32 -p tcp -m tcp --dport 8080 -j KUBE-SVC-B
COMMIT
`))
	if err != nil {
		t.Fatal(err)
	}
	// In iptables-save order: built-in chains, then the others by name.
	want := []netip.AddrPort{netip.MustParseAddrPort("10.96.1.2:8080"), netip.MustParseAddrPort("10.96.0.1:80")}
	if diff := cmp.Diff(want, dispatchEnds(dump.Table(ipsave.TableNAT)), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("dispatch ends (-want +got):\n%s", diff)
	}
}

// TestServiceIndex checks that a ClusterIP of the synthetic cluster maps
// back to its Service, and that other addresses do not.
func TestServiceIndex(t *testing.T) {
	for _, i := range []int{0, 1, 249, 250, 999, 9999} {
		got, err := serviceIndex(netip.MustParseAddr(service(i).Spec.ClusterIP))
		if err != nil || got != i {
			t.Errorf("serviceIndex(%s) = %d, %v; want %d", service(i).Spec.ClusterIP, got, err, i)
		}
	}
	for _, a := range []string{"10.96.0.0", "10.96.0.251", "10.97.0.1"} {
		if got, err := serviceIndex(netip.MustParseAddr(a)); err == nil {
			t.Errorf("serviceIndex(%s) = %d, want an error", a, got)
		}
	}
}

// TestEndpointAddrs checks that a Service's endpoint addresses over its
// generations are its 10 endpoints and the second one's later addresses
// not among them.
func TestEndpointAddrs(t *testing.T) {
	want := []string{"10.244.3.250", "10.245.3.250", "10.246.3.250", "10.247.3.250", "10.248.3.250",
		"10.249.3.250", "10.250.3.250", "10.251.3.250", "10.252.3.250", "10.253.3.250", "10.254.3.250"}
	if diff := cmp.Diff(want, endpointAddrs(999, 4)); diff != "" {
		t.Errorf("endpointAddrs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:10], endpointAddrs(999, 0)); diff != "" {
		t.Errorf("endpointAddrs without partial syncs (-want +got):\n%s", diff)
	}
}
