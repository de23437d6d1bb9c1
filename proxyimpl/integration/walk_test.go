package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// newWalkTracer applies a full restore text and the hook rules to an
// iptablestest.Fake and returns a tracer over the result, for the
// benchmark node.
func newWalkTracer(tb testing.TB, full []byte) *iptrace.Tracer {
	tb.Helper()
	ctx := context.Background()
	fake := iptablestest.NewFake()
	if err := fake.Restore(ctx, full); err != nil {
		tb.Fatalf("restoring into the fake: %v", err)
	}
	for _, h := range render.Hooks() {
		if _, err := fake.EnsureRule(ctx, h.Table, h.Chain, h.Args...); err != nil {
			tb.Fatalf("ensuring hook rule: %v", err)
		}
	}
	tracer, err := iptrace.New(fake.Dump(), benchSnapshotConfig().NodeIPs[0].String())
	if err != nil {
		tb.Fatal(err)
	}
	return tracer
}

// walkedTo traces the first packet from a pod on another node to port
// name of snap and returns the fewest and the most rules any of its
// paths walks before its DNAT; every path must be DNATed, one per
// endpoint.
func walkedTo(tb testing.TB, tracer *iptrace.Tracer, snap *snapshot.Snapshot, name snapshot.ServicePortName, endpoints int) (fewest, most int) {
	tb.Helper()
	port := snap.Ports[name]
	res, err := tracer.Trace(iptrace.Packet{
		Source: "10.215.0.9", Destination: port.ClusterIPs[0].String(),
		Protocol: "tcp", DestinationPort: uint16(port.Port),
	})
	if err != nil {
		tb.Fatalf("tracing a packet to %s: %v", name, err)
	}
	fewest = -1
	for _, p := range res.Paths {
		if !p.DNAT {
			tb.Fatalf("a packet to %s is not DNATed:\n%s", name, res)
		}
		if fewest < 0 || p.RulesBeforeDNAT < fewest {
			fewest = p.RulesBeforeDNAT
		}
		most = max(most, p.RulesBeforeDNAT)
	}
	if len(res.Paths) != endpoints {
		tb.Fatalf("a packet to %s takes %d paths, want one per endpoint (%d):\n%s", name, len(res.Paths), endpoints, res)
	}
	return fewest, most
}

// walkedRules traces the first packet from a pod on another node to the
// last Service of f and returns the fewest and the most rules any path
// walks before its DNAT.
func walkedRules(tb testing.TB, f *fixture) (fewest, most int) {
	tb.Helper()
	return walkedTo(tb, newWalkTracer(tb, f.full), f.snap, lastPort(f.snap), f.scale.endpoints)
}

// lastPort names the last port of a snapshot in render order.
func lastPort(s *snapshot.Snapshot) snapshot.ServicePortName {
	names := s.Names()
	return names[len(names)-1]
}

// lastInBuckets returns, for each dispatch chain of rs, the port whose
// dispatch rule is its last: the port of that chain a first packet walks
// the most rules to.
func lastInBuckets(rs *render.RuleSet) map[string]snapshot.ServicePortName {
	last := map[string]snapshot.ServicePortName{}
	for name, sr := range rs.Services {
		for _, r := range sr.Shared {
			if !strings.HasPrefix(r.Chain, render.DispatchPrefix) && r.Chain != render.ChainServices {
				continue
			}
			if cur, ok := last[r.Chain]; !ok || cur.Compare(name) < 0 {
				last[r.Chain] = name // a full sync fills a chain in port order
			}
		}
	}
	return last
}

// TestWalkedRulesTree checks, with the packet tracer over the full sync
// of a synthetic cluster, that a first packet to any Service walks
// O(sqrt(N)) rules: at most 250 at 10k Services (the flat chain of
// kube-proxy's shape walks 10002 to the last one), at most 100 at 1k. The
// worst Service of each bucket chain is the last one in it, so tracing
// those covers every Service.
func TestWalkedRulesTree(t *testing.T) {
	for _, tc := range []struct {
		services, limit int
	}{{1000, 100}, {10000, 250}} {
		t.Run(fmt.Sprint(tc.services), func(t *testing.T) {
			if testing.Short() && tc.services > 1000 {
				t.Skip("10k Services: skipped under -short")
			}
			f := newFixture(t, scale{tc.services, 10})
			tracer := newWalkTracer(t, f.full)
			last := lastInBuckets(f.rules)
			if len(last) < 16 {
				t.Fatalf("%d Services dispatched from %d chains, want a tree", tc.services, len(last))
			}
			worst, worstName := 0, snapshot.ServicePortName{}
			for _, name := range last {
				if _, most := walkedTo(t, tracer, f.snap, name, 10); most > worst {
					worst, worstName = most, name
				}
			}
			_, lastMost := walkedTo(t, tracer, f.snap, lastPort(f.snap), 10)
			t.Logf("%d Services, %d dispatch chains: at most %d rules walked (to %s), %d to the last Service",
				tc.services, len(last), worst, worstName, lastMost)
			if worst > tc.limit {
				t.Errorf("a first packet to %s walks %d rules, want at most %d", worstName, worst, tc.limit)
			}
		})
	}
}

// TestWalkedRulesFlat checks that the flat layout (render.Config
// FlatDispatch, kube-proxy's shape) still renders: the last of 1k
// Services costs a walk of every dispatch rule.
func TestWalkedRulesFlat(t *testing.T) {
	f := newFixture(t, scale{1000, 10})
	rs := render.Render(render.Config{FlatDispatch: true}, f.snap)
	full, _ := render.WriteFull(rs, nil)
	fewest, most := walkedTo(t, newWalkTracer(t, full), f.snap, lastPort(f.snap), 10)
	if fewest < 1000 || most > 1011 {
		t.Errorf("flat dispatch: a first packet to the last of 1000 Services walks %d-%d rules, want 1000-1011", fewest, most)
	}
}
