package proxyimpl

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/internal/testenv"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	"github.com/svccheck/svccheck/proxyimpl/render"
)

// realDump saves both tables of ipt and parses them.
func realDump(t *testing.T, ctx context.Context, ipt iptables.Interface) (*ipsave.Dump, string) {
	t.Helper()
	var all strings.Builder
	for _, table := range []iptables.Table{iptables.TableFilter, iptables.TableNAT} {
		data, err := ipt.Save(ctx, table, false)
		if err != nil {
			t.Fatalf("saving %s: %v", table, err)
		}
		all.Write(data)
	}
	d, err := ipsave.Parse([]byte(all.String()))
	if err != nil {
		t.Fatalf("parsing save output: %v\n%s", err, all.String())
	}
	return d, all.String()
}

// TestIntegrationProxierRealIPTables runs the controller's syncs (full,
// partial, after a deletion) and Cleanup against real iptables-restore of
// each backend in a fresh network namespace, and traces packets through
// what the kernel then holds.
func TestIntegrationProxierRealIPTables(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test skipped under -short")
	}
	testenv.NeedRoot(t, "network namespaces, iptables")
	for _, b := range []iptables.Backend{iptables.BackendNFT, iptables.BackendLegacy} {
		t.Run(string(b), func(t *testing.T) {
			testenv.NeedTools(t, "ip", "iptables-"+string(b)+"-restore", "iptables-"+string(b)+"-save")
			ns := leftover.Name(leftover.NetNSPrefix, "ctl-"+string(b))
			local := &exec.LocalCmder{}
			if err := leftover.ReapNetNSOnce(context.Background()); err != nil {
				t.Logf("removing network namespaces of test processes that are gone: %v", err)
			}
			if err := local.Command("ip", "netns", "add", ns).Run(); err != nil {
				t.Fatalf("creating network namespace: %v", err)
			}
			t.Cleanup(func() {
				if err := local.Command("ip", "netns", "del", ns).Run(); err != nil {
					t.Errorf("deleting network namespace %s: %v", ns, err)
				}
			})
			runRealScenario(t, iptables.New(iptables.NetNSCmder(ns), b))
		})
	}
}

// checkHooks checks that the kernel holds every hook of render.Hooks once,
// each built-in chain's hooks first and in the order EnsureRule leaves them
// when called on each in turn (the last ensured on top), readded last.
func checkHooks(t *testing.T, step string, ipt iptables.Interface, readded ...render.HookRule) {
	t.Helper()
	_, text := realDump(t, context.Background(), ipt)
	lines := strings.Split(text, "\n")
	type tableChain struct{ table, chain string }
	order := slices.DeleteFunc(render.Hooks(), func(h render.HookRule) bool {
		return slices.ContainsFunc(readded, func(r render.HookRule) bool { return r.Spec() == h.Spec() && r.Chain == h.Chain && r.Table == h.Table })
	})
	order = append(order, readded...)
	want := map[tableChain][]string{}
	for _, h := range slices.Backward(order) {
		k := tableChain{string(h.Table), string(h.Chain)}
		want[k] = append(want[k], "-A "+string(h.Chain)+" "+h.Spec())
	}
	got := map[tableChain][]string{}
	table := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "*") {
			table = l[1:]
			continue
		}
		for k := range want {
			if k.table == table && strings.HasPrefix(l, "-A "+k.chain+" ") {
				got[k] = append(got[k], l)
			}
		}
	}
	for k, w := range want {
		g := got[k]
		if len(g) > len(w) {
			g = g[:len(w)]
			if others := got[k][len(w):]; slices.ContainsFunc(others, func(l string) bool { return strings.Contains(l, "svccheck") }) {
				t.Errorf("%s: %s %s holds svccheck rules past its hooks: %q", step, k.table, k.chain, got[k])
			}
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s: hooks heading %s %s (-want +got):\n%s", step, k.table, k.chain, diff)
		}
	}
}

func runRealScenario(t *testing.T, ipt iptables.Interface) {
	ctx := context.Background()
	// A chain left by an earlier run, and someone else's rules.
	earlier := "*nat\n:SVCCHK-SVC-LEFTOVER0000000 - [0:0]\n:OTHER - [0:0]\n-A OTHER -j RETURN\n-A PREROUTING -j OTHER\nCOMMIT\n"
	if err := ipt.Restore(ctx, []byte(earlier)); err != nil {
		t.Fatalf("seeding: %v", err)
	}
	webSlice := slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode})
	env := newEnvIPT(t, ipt, nil,
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP), webSlice,
		service("demo", "dns", "10.96.0.53", 53, v1.ProtocolUDP),
		slice("demo", "dns", "dns-1", 53, v1.ProtocolUDP, endpoint{"10.244.2.7", "node-b"}),
	)
	env.start(5)
	env.sync()
	web := iptrace.Packet{Source: "10.244.1.9", Destination: "10.96.0.10", Protocol: "tcp", DestinationPort: 80}
	dns := iptrace.Packet{Source: "10.244.1.9", Destination: "10.96.0.53", Protocol: "udp", DestinationPort: 53}
	check := func(step string, pkt iptrace.Packet, want []string) {
		t.Helper()
		d, text := realDump(t, ctx, ipt)
		res := traceDump(t, d, pkt)
		if diff := cmp.Diff(want, res.Endpoints()); diff != "" {
			t.Errorf("%s: endpoints of %s:%d (-want +got):\n%s\n%s\n%s", step, pkt.Destination, pkt.DestinationPort, diff, res, text)
		}
	}
	check("full sync", web, []string{"10.244.1.5:8080"})
	check("full sync", dns, []string{"10.244.2.7:53"})
	if _, text := realDump(t, ctx, ipt); strings.Contains(text, "LEFTOVER") || !strings.Contains(text, "-A OTHER -j RETURN") {
		t.Errorf("full sync: want the leftover chain gone and other rules kept:\n%s", text)
	}
	checkHooks(t, "first full sync", ipt)
	// A full sync over hooks in place adds none; one over a hook deleted
	// behind the proxy's back puts just that one back, on top of its
	// chain, as EnsureRule would.
	env.p.rules = nil
	env.sync()
	checkHooks(t, "full sync over the hooks", ipt)
	gone := render.Hooks()[4]
	if err := ipt.DeleteRule(ctx, gone.Table, gone.Chain, gone.Args...); err != nil {
		t.Fatal(err)
	}
	env.p.rules = nil
	env.sync()
	checkHooks(t, "full sync after a hook was deleted", ipt, gone)

	grown := webSlice.DeepCopy()
	grown.Endpoints = append(grown.Endpoints, slice("demo", "web", "x", 8080, v1.ProtocolTCP, endpoint{"10.244.2.6", "node-b"}).Endpoints...)
	env.updateSlice(grown)
	env.waitEvents(6)
	env.sync()
	check("partial sync, endpoint added", web, []string{"10.244.1.5:8080", "10.244.2.6:8080"})
	check("partial sync, endpoint added", dns, []string{"10.244.2.7:53"})

	if err := env.client.CoreV1().Services("demo").Delete(ctx, "dns", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.waitEvents(7)
	env.sync()
	check("partial sync, Service deleted", web, []string{"10.244.1.5:8080", "10.244.2.6:8080"})
	// Nothing DNATs the deleted Service's address any more.
	check("partial sync, Service deleted", dns, []string{"10.96.0.53:53"})
	if env.p.Generation() != 5 {
		t.Errorf("generation = %d, want 5 successful syncs", env.p.Generation())
	}

	res, err := Cleanup(ctx, ipt)
	if err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	_, text := realDump(t, ctx, ipt)
	if strings.Contains(text, "SVCCHK") || !strings.Contains(text, "-A PREROUTING -j OTHER") {
		t.Errorf("after cleanup (%+v): want no svccheck rules and the others kept:\n%s", res, text)
	}
}
