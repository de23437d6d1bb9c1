package proxyimpl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/svccheck/svccheck/proxyimpl/healthcheck"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// runEnv runs the Proxier's loop in the background until the test ends.
func runEnv(t *testing.T, env *testEnv) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- env.p.Run(env.ctx) }()
	return done
}

func waitGen(t *testing.T, env *testEnv, gen uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(env.ctx, 10*time.Second)
	defer cancel()
	if err := env.p.WaitForGeneration(ctx, gen); err != nil {
		t.Fatal(err)
	}
}

func TestMinSyncPeriodBatchesBurst(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	health := healthcheck.NewProxyHealth(time.Minute, clk)
	env := newEnv(t, func(c *Config) {
		c.Clock = clk
		c.MinSyncPeriod = 2 * time.Second
		c.Health = health
	})
	runEnv(t, env)
	waitGen(t, env, 1)
	env.waitEvents(1) // the Node
	if st := health.Status(); !st.Healthy {
		t.Errorf("not healthy after the first sync: %+v", st)
	}

	const burst = 20
	for i := range burst {
		name := fmt.Sprintf("svc-%02d", i)
		env.create(service("demo", name, fmt.Sprintf("10.96.1.%d", i+1), 80, v1.ProtocolTCP),
			slice("demo", name, name+"-1", 8080, v1.ProtocolTCP, endpoint{fmt.Sprintf("10.244.1.%d", i+1), testNode}))
	}
	env.waitEvents(1 + 2*burst)
	if got := env.ipt.Calls().Restore; got != 1 {
		t.Fatalf("restores before the minimum sync period passed = %d, want 1", got)
	}
	clk.Step(2 * time.Second)
	waitGen(t, env, 2)
	if got := env.ipt.Calls().Restore; got != 2 {
		t.Errorf("restores = %d, want 2: the burst of %d changes in one sync", got, 2*burst)
	}
	batch := string(env.ipt.LastRestore())
	for i := range burst {
		hash := portHash("demo", fmt.Sprintf("svc-%02d", i), v1.ProtocolTCP)
		if !strings.Contains(batch, ":"+snapshot.SVCPrefix+hash) {
			t.Errorf("the batched sync lacks svc-%02d's chain", i)
		}
	}
	if env.p.tracker.pending() != 0 {
		t.Errorf("%d changes left after the batched sync", env.p.tracker.pending())
	}
}

func TestPeriodicFullResync(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	env := newEnv(t, func(c *Config) { c.Clock = clk }, service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP))
	runEnv(t, env)
	waitGen(t, env, 1)
	// Someone deletes one of the proxy's chains behind its back.
	if err := env.ipt.Restore(env.ctx, []byte("*filter\n-F SVCCHK-FORWARD\nCOMMIT\n")); err != nil {
		t.Fatal(err)
	}
	// Let the loop wait on its timer first: a step before that is lost.
	// On a loaded machine this can take seconds.
	for deadline := time.Now().Add(30 * time.Second); (!clk.HasWaiters() || !env.p.runner.waiting.Load()) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	clk.Step(DefaultSyncPeriod)
	waitGen(t, env, 2)
	if rules := env.ipt.Rules(iptables.TableFilter, "SVCCHK-FORWARD"); len(rules) != 3 {
		t.Errorf("SVCCHK-FORWARD after the periodic resync = %v, want its 3 rules back", rules)
	}
	// Only the damaged chain was rewritten; the intact ones were kept.
	repair := string(env.ipt.LastRestore())
	var declared []string
	for _, line := range strings.Split(repair, "\n") {
		if strings.HasPrefix(line, ":") {
			declared = append(declared, line)
		}
	}
	if len(declared) != 1 || declared[0] != ":SVCCHK-FORWARD - [0:0]" {
		t.Errorf("the periodic resync declares %q, want only SVCCHK-FORWARD:\n%s", declared, repair)
	}
	if kept := testutil.ToFloat64(env.p.cfg.Metrics.ChainsKept.WithLabelValues("nat")); kept == 0 {
		t.Errorf("nat chains kept by the periodic resync = 0, want the intact ones")
	}
}

func TestInformersNeverSyncKeepsRules(t *testing.T) {
	env := newEnv(t, func(c *Config) { c.InformerSyncTimeout = 300 * time.Millisecond })
	env.client.PrependReactor("list", "services", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	before := "*nat\n:SVCCHK-SERVICES - [0:0]\n-A PREROUTING -j SVCCHK-SERVICES\nCOMMIT\n"
	if err := env.ipt.Restore(env.ctx, []byte(before)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-runEnv(t, env):
		if err == nil || !strings.Contains(err.Error(), "API server") {
			t.Errorf("Run error = %v, want one that points at the API server", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not give up waiting for the informers")
	}
	if got := env.ipt.Calls().Restore; got != 1 {
		t.Errorf("restores = %d, want only the test's own", got)
	}
	if rules := env.ipt.Rules(iptables.TableNAT, iptables.ChainPrerouting); len(rules) != 1 {
		t.Errorf("PREROUTING = %v, want the earlier jump kept", rules)
	}
}
