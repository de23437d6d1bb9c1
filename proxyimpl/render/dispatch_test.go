package render

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// TestDispatchBits checks the tree sizes: flat up to 64 ports, about
// sqrt(N) buckets above, and a tree kept while the count stays in its
// window.
func TestDispatchBits(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{0, 0}, {64, 0}, {65, 3}, {128, 3}, {129, 4}, {1000, 5}, {3000, 6}, {10000, 7}, {40000, 8}, {1 << 30, 12}} {
		if got := idealDispatchBits(tc.n); got != tc.want {
			t.Errorf("idealDispatchBits(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct{ prev, n, want int }{
		{0, 64, 0}, {0, 65, 3}, {3, 48, 3}, {3, 47, 0}, {7, 6144, 7}, {7, 6143, 6}, {7, 32768, 7}, {7, 32769, 8}, {6, 8193, 7}, {5, 1000, 5},
	} {
		if got := nextDispatchBits(tc.prev, tc.n); got != tc.want {
			t.Errorf("nextDispatchBits(%d, %d) = %d, want %d", tc.prev, tc.n, got, tc.want)
		}
	}
}

// TestBucketMatch checks the bucket of an address and the -d value of
// its bucket jump, as iptables-save prints it, for both families.
func TestBucketMatch(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		bits  int
		chain string
		match string
	}{
		{"10.96.0.95", 7, "SVCCHK-DSP-7-95", "0.0.0.95/0.0.0.127"},
		{"10.96.1.223", 7, "SVCCHK-DSP-7-95", "0.0.0.95/0.0.0.127"},
		{"10.96.3.0", 9, "SVCCHK-DSP-9-256", "0.0.1.0/0.0.1.255"},
		{"fd00::15f", 7, "SVCCHK-DSP-7-95", "::5f/::7f"},
	} {
		a := netip.MustParseAddr(tc.addr)
		i := bucketOf(a, tc.bits)
		if got := bucketChain(tc.bits, i); got != tc.chain {
			t.Errorf("bucket chain of %s = %s, want %s", tc.addr, got, tc.chain)
		}
		if got := bucketMatch(tc.bits, i, a.Is6()); got != tc.match {
			t.Errorf("bucket match of %s = %s, want %s", tc.addr, got, tc.match)
		}
	}
}

// treeCluster returns 200 generated Services (a tree of 16 buckets), one
// of them with an external IP and a load balancer IP in buckets of their
// own.
func treeCluster(t *testing.T) *snapshot.Snapshot {
	services, slices := treeObjects()
	return build(t, services, slices)
}

// treeObjects returns the objects of treeCluster.
func treeObjects() ([]*v1.Service, []*discoveryv1.EndpointSlice) {
	services, slices := genCluster(200, 3)
	s := services[10] // a NodePort Service
	s.Spec.Type = v1.ServiceTypeLoadBalancer
	s.Spec.ExternalIPs = []string{"192.0.2.7"}
	s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "198.51.100.9"}}
	return services, slices
}

// TestDispatchTree checks where the nat dispatch rules go: each cluster,
// external and load balancer IP rule in the bucket chain of its address,
// the bucket jumps in order before the node port jump.
func TestDispatchTree(t *testing.T) {
	rs := Render(Config{}, treeCluster(t))
	if rs.DispatchBits != 4 {
		t.Fatalf("200 Services: DispatchBits = %d, want 4", rs.DispatchBits)
	}
	kinds := map[string]int{}
	for _, sr := range rs.Services {
		for _, r := range sr.Shared {
			if r.Table != iptables.TableNAT || r.Chain == ChainNodePorts {
				continue
			}
			dst, _, _ := strings.Cut(strings.TrimPrefix(r.Spec, "-d "), "/")
			if want := bucketChain(4, bucketOf(netip.MustParseAddr(dst), 4)); r.Chain != want {
				t.Errorf("%s: rule %q in %s, want %s", sr.Name, r.Spec, r.Chain, want)
			}
			for _, k := range []string{"cluster IP", "external IP", "loadbalancer IP"} {
				if strings.Contains(r.Spec, k) {
					kinds[k]++
				}
			}
		}
	}
	if kinds["external IP"] != 1 || kinds["loadbalancer IP"] != 1 || kinds["cluster IP"] != 200 {
		t.Errorf("dispatch rules by kind: %v, want 200 cluster IP, 1 external IP, 1 loadbalancer IP", kinds)
	}
	services := findChain(rs.Global, iptables.TableNAT, ChainServices)
	if len(services.Rules) != 17 || !strings.Contains(services.Rules[16], "-j "+ChainNodePorts) {
		t.Fatalf("nat %s: %d rules, want 16 bucket jumps and the node port jump last:\n%s", ChainServices, len(services.Rules), strings.Join(services.Rules, "\n"))
	}
	for i, r := range services.Rules[:16] {
		want := fmt.Sprintf("-d 0.0.0.%d/0.0.0.15 -m comment --comment \"svccheck dispatch bucket %d of 16\" -j SVCCHK-DSP-4-%d", i, i, i)
		if r != want {
			t.Errorf("bucket jump %d: %q, want %q", i, r, want)
		}
	}
	flat := Render(Config{FlatDispatch: true}, treeCluster(t))
	if got := findChain(flat.Global, iptables.TableNAT, ChainServices); flat.DispatchBits != 0 || len(got.Rules) != 1 {
		t.Errorf("FlatDispatch: DispatchBits %d and %d fixed rules, want 0 and the node port jump", flat.DispatchBits, len(got.Rules))
	}
}

// TestIntegrationRestoreTree applies a tree's full text with the real
// iptables-restore of both backends: the kernel holds what the Fake
// holds, and a full sync over it keeps every chain (the rendered bucket
// jumps read back exactly as iptables-save prints them). A partial sync
// changing one Service then leaves the kernel as a full sync would.
func TestIntegrationRestoreTree(t *testing.T) {
	needRealIPTables(t)
	snap := treeCluster(t)
	rs := Render(Config{}, snap)
	full, _ := WriteFull(rs, nil)
	services, slices := treeObjects()
	slices[42].Endpoints = slices[42].Endpoints[:1] // one Service loses endpoints
	next := build(t, services, slices)
	changed := snapshot.Changed(snap, next)
	nextRS := RenderChanged(Config{}, next, rs, changed)
	partial, _ := WritePartial(rs, nextRS, changed)
	nextFull, _ := WriteFull(nextRS, nil)
	if len(changed) != 1 || !strings.Contains(string(partial), "-I "+DispatchPrefix) && !strings.Contains(string(partial), ":SVCCHK-SVC-") {
		t.Fatalf("changed %v, partial text:\n%s", changed, partial)
	}
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ns := newScratch(t)
			if err := ns.restore(b, full, false); err != nil {
				t.Fatalf("restore: %v", err)
			}
			saved, err := ns.save(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fakeState(t, full), fakeState(t, saved)); diff != "" {
				t.Errorf("kernel state (-fake +kernel):\n%s", diff)
			}
			resync, st := WriteFull(rs, existingState(t, saved))
			if len(resync) != 0 {
				t.Errorf("full sync over the kernel's own tree writes %v:\n%s", st, resync)
			}
			if err := ns.restore(b, partial, false); err != nil {
				t.Fatalf("partial restore: %v\n%s", err, partial)
			}
			if saved, err = ns.save(b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fakeState(t, nextFull), fakeState(t, saved)); diff != "" {
				t.Errorf("kernel after partial sync (-full sync +kernel):\n%s", diff)
			}
		})
	}
}
