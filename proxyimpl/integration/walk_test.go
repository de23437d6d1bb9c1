package integration

import (
	"context"
	"testing"

	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// walkedRules applies f's full restore text and the hook rules to an
// iptablestest.Fake and traces the first packet from a pod on another node
// to the last Service of f; it returns the fewest and the most rules any
// path walks before its DNAT.
func walkedRules(tb testing.TB, f *fixture) (fewest, most int) {
	tb.Helper()
	ctx := context.Background()
	fake := iptablestest.NewFake()
	if err := fake.Restore(ctx, f.full); err != nil {
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
	last := lastPort(f.snap)
	port := f.snap.Ports[last]
	res, err := tracer.Trace(iptrace.Packet{
		Source: "10.215.0.9", Destination: port.ClusterIPs[0].String(),
		Protocol: "tcp", DestinationPort: uint16(port.Port),
	})
	if err != nil {
		tb.Fatalf("tracing a packet to %s: %v", last, err)
	}
	fewest = -1
	for _, p := range res.Paths {
		if !p.DNAT {
			tb.Fatalf("a packet to %s is not DNATed:\n%s", last, res)
		}
		if fewest < 0 || p.RulesBeforeDNAT < fewest {
			fewest = p.RulesBeforeDNAT
		}
		most = max(most, p.RulesBeforeDNAT)
	}
	if len(res.Paths) != f.scale.endpoints {
		tb.Fatalf("a packet to %s takes %d paths, want one per endpoint (%d):\n%s", last, len(res.Paths), f.scale.endpoints, res)
	}
	return fewest, most
}

// lastPort names the last port of a snapshot in render order.
func lastPort(s *snapshot.Snapshot) snapshot.ServicePortName {
	names := s.Names()
	return names[len(names)-1]
}
