package proxyimpl

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	v1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/svccheck/svccheck/proxyimpl/healthcheck"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	"github.com/svccheck/svccheck/proxyimpl/metrics"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// portHash is the chain hash of ns/name's port "p".
func portHash(ns, name string, proto v1.Protocol) string {
	return snapshot.PortHash(snapshot.ServicePortName{Namespace: ns, Name: name, Port: "p", Protocol: proto})
}

func TestFirstSyncIsFullAndTraces(t *testing.T) {
	env := newEnv(t, nil,
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP),
		slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode}, endpoint{"10.244.2.6", "node-b"}),
		service("demo", "empty", "10.96.0.11", 80, v1.ProtocolTCP),
	)
	env.start(4) // node, two Services, one slice
	env.sync()

	if got := len(env.ipt.Restores()); got != 1 {
		t.Fatalf("restores = %d, want 1", got)
	}
	first := string(env.ipt.LastRestore())
	for _, want := range []string{":" + render.ChainPostrouting, ":" + snapshot.SVCPrefix + portHash("demo", "web", v1.ProtocolTCP)} {
		if !strings.Contains(first, want) {
			t.Errorf("first restore lacks %q:\n%s", want, first)
		}
	}
	for _, h := range render.Hooks() {
		rules := env.ipt.Rules(h.Table, h.Chain)
		if !containsSubstring(rules, "-j "+string(h.Args[len(h.Args)-1])) {
			t.Errorf("%s %s lacks the jump to %s: %v", h.Table, h.Chain, h.Args[len(h.Args)-1], rules)
		}
	}

	flows := []struct {
		name          string
		pkt           iptrace.Packet
		wantEndpoints []string
		wantVerdicts  []iptrace.Verdict
	}{
		{"pod to cluster IP", iptrace.Packet{Source: "10.244.1.9", Destination: "10.96.0.10", Protocol: "tcp", DestinationPort: 80},
			[]string{"10.244.1.5:8080", "10.244.2.6:8080"}, []iptrace.Verdict{iptrace.VerdictAccept}},
		{"node to cluster IP", iptrace.Packet{Source: testNodeIP, Destination: "10.96.0.10", Protocol: "tcp", DestinationPort: 80, Local: true},
			[]string{"10.244.1.5:8080", "10.244.2.6:8080"}, []iptrace.Verdict{iptrace.VerdictAccept}},
		{"no endpoints", iptrace.Packet{Source: "10.244.1.9", Destination: "10.96.0.11", Protocol: "tcp", DestinationPort: 80},
			nil, []iptrace.Verdict{iptrace.VerdictReject}},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			res := env.trace(f.pkt)
			if diff := cmp.Diff(f.wantEndpoints, res.Endpoints()); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s\n%s", diff, res)
			}
			if diff := cmp.Diff(f.wantVerdicts, res.Verdicts()); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s\n%s", diff, res)
			}
		})
	}
	if got := testutil.ToFloat64(env.p.cfg.Metrics.LastSyncTimestamp); got == 0 {
		t.Error("last sync timestamp metric not set")
	}
	if env.p.Generation() != 1 {
		t.Errorf("generation = %d, want 1", env.p.Generation())
	}
}

// containsSubstring reports whether any of lines contains s.
func containsSubstring(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestPartialSyncTouchesOnlyChangedService(t *testing.T) {
	webSlice := slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode})
	env := newEnv(t, nil,
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP), webSlice,
		service("demo", "dns", "10.96.0.53", 53, v1.ProtocolUDP),
		slice("demo", "dns", "dns-1", 53, v1.ProtocolUDP, endpoint{"10.244.2.7", "node-b"}),
	)
	env.start(5)
	env.sync()

	grown := webSlice.DeepCopy()
	grown.Endpoints = append(grown.Endpoints, slice("demo", "web", "x", 8080, v1.ProtocolTCP, endpoint{"10.244.2.6", "node-b"}).Endpoints...)
	env.updateSlice(grown)
	env.waitEvents(6)
	env.sync()

	if got := len(env.ipt.Restores()); got != 2 {
		t.Fatalf("restores = %d, want 2", got)
	}
	partial := string(env.ipt.LastRestore())
	webHash, dnsHash := portHash("demo", "web", v1.ProtocolTCP), portHash("demo", "dns", v1.ProtocolUDP)
	if !strings.Contains(partial, ":"+snapshot.SVCPrefix+webHash) || !strings.Contains(partial, "10.244.2.6:8080") {
		t.Errorf("partial restore does not rewrite web's chain with the new endpoint:\n%s", partial)
	}
	for _, unwanted := range []string{dnsHash, "demo/dns", ":" + render.ChainPostrouting, ":" + render.ChainForward} {
		if strings.Contains(partial, unwanted) {
			t.Errorf("partial restore touches %q, which did not change:\n%s", unwanted, partial)
		}
	}
	res := env.trace(iptrace.Packet{Source: "10.244.1.9", Destination: "10.96.0.10", Protocol: "tcp", DestinationPort: 80})
	if diff := cmp.Diff([]string{"10.244.1.5:8080", "10.244.2.6:8080"}, res.Endpoints()); diff != "" {
		t.Errorf("web endpoints after partial sync (-want +got):\n%s\n%s", diff, res)
	}
	res = env.trace(iptrace.Packet{Source: "10.244.1.9", Destination: "10.96.0.53", Protocol: "udp", DestinationPort: 53})
	if diff := cmp.Diff([]string{"10.244.2.7:53"}, res.Endpoints()); diff != "" {
		t.Errorf("dns endpoints after partial sync (-want +got):\n%s\n%s", diff, res)
	}
	m := env.p.cfg.Metrics
	if full, partial := testutil.CollectAndCount(m.SyncDuration), testutil.ToFloat64(m.SyncFailures.WithLabelValues(metrics.ModePartial)); full != 2 || partial != 0 {
		t.Errorf("sync duration series = %d (want full and partial), partial failures = %v (want 0)", full, partial)
	}
}

func TestFailedRestoreForcesFullSync(t *testing.T) {
	webSlice := slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode})
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	health := healthcheck.NewProxyHealth(time.Minute, clk)
	env := newEnv(t, func(c *Config) { c.Health = health; c.Clock = clk },
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP), webSlice)
	env.start(3)
	env.sync()

	moved := webSlice.DeepCopy()
	moved.Endpoints[0].Addresses = []string{"10.244.1.8"}
	env.updateSlice(moved)
	env.waitEvents(4)
	env.ipt.FailNextRestore(errors.New("injected restore failure"))
	if err := env.p.Sync(env.ctx); err == nil {
		t.Fatal("Sync succeeded although the restore failed")
	}
	if env.p.Generation() != 1 {
		t.Errorf("generation = %d after a failed sync, want 1", env.p.Generation())
	}
	// The old rules are still in place.
	res := env.trace(iptrace.Packet{Source: "10.244.1.9", Destination: "10.96.0.10", Protocol: "tcp", DestinationPort: 80})
	if diff := cmp.Diff([]string{"10.244.1.5:8080"}, res.Endpoints()); diff != "" {
		t.Errorf("endpoints after the failed sync (-want +got):\n%s", diff)
	}

	clk.Step(2 * time.Minute)
	if st := health.Status(); st.Healthy {
		t.Errorf("healthy although the last sync failed 2m ago: %+v", st)
	}

	fulls := env.syncsOf(metrics.ModeFull)
	env.sync() // no new change: must be a full sync that applies the move
	if st := health.Status(); !st.Healthy {
		t.Errorf("unhealthy after a successful sync: %+v", st)
	}
	if got := env.syncsOf(metrics.ModeFull); got != fulls+1 {
		t.Errorf("full syncs = %d after the retry, want %d: the sync after a failed restore is not a full one:\n%s",
			got, fulls+1, env.ipt.LastRestore())
	}
	res = env.trace(iptrace.Packet{Source: "10.244.1.9", Destination: "10.96.0.10", Protocol: "tcp", DestinationPort: 80})
	if diff := cmp.Diff([]string{"10.244.1.8:8080"}, res.Endpoints()); diff != "" {
		t.Errorf("endpoints after the full retry (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(env.p.cfg.Metrics.SyncFailures.WithLabelValues(metrics.ModePartial)); got != 1 {
		t.Errorf("partial sync failures = %v, want 1", got)
	}
}

func TestNoSyncBeforeInformersSynced(t *testing.T) {
	env := newEnv(t, nil, service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP))
	// Rules from an earlier run are in place.
	before := "*nat\n:SVCCHK-SERVICES - [0:0]\n-A PREROUTING -j SVCCHK-SERVICES\nCOMMIT\n"
	if err := env.ipt.Restore(env.ctx, []byte(before)); err != nil {
		t.Fatal(err)
	}
	if err := env.p.Sync(env.ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if got := env.ipt.Calls().Restore; got != 1 {
		t.Errorf("restores = %d, want only the test's own", got)
	}
	if env.p.Generation() != 0 {
		t.Errorf("generation = %d, want 0", env.p.Generation())
	}
	if diff := cmp.Diff([]string{"-A PREROUTING -j SVCCHK-SERVICES"}, env.ipt.Rules(iptables.TableNAT, iptables.ChainPrerouting)); diff != "" {
		t.Errorf("PREROUTING (-want +got):\n%s", diff)
	}
}
