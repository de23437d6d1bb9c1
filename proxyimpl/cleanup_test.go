package proxyimpl

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
)

func TestCleanupRemovesOnlySvccheck(t *testing.T) {
	env := newEnv(t, nil,
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP),
		slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode}),
	)
	foreign := "*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j RETURN\n" +
		"-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\nCOMMIT\n" +
		"*filter\n-A FORWARD -s 10.1.0.0/16 -j ACCEPT\nCOMMIT\n"
	if err := env.ipt.Restore(env.ctx, []byte(foreign)); err != nil {
		t.Fatal(err)
	}
	env.start(3)
	env.sync()

	res, err := Cleanup(env.ctx, env.ipt)
	if err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if res.Hooks != len(render.Hooks()) {
		t.Errorf("hooks deleted = %d, want %d", res.Hooks, len(render.Hooks()))
	}
	if res.Chains < 8 {
		t.Errorf("chains deleted = %d, want the global chains and web's", res.Chains)
	}
	for _, table := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
		saved, err := env.ipt.Save(env.ctx, table, false)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(saved), "SVCCHK") {
			t.Errorf("%s still holds svccheck's rules:\n%s", table, saved)
		}
	}
	checks := []struct {
		table iptables.Table
		chain iptables.Chain
		want  []string
	}{
		{iptables.TableNAT, iptables.ChainPrerouting, []string{`-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`}},
		{iptables.TableNAT, "KUBE-SERVICES", []string{"-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j RETURN"}},
		{iptables.TableFilter, iptables.ChainForward, []string{"-A FORWARD -s 10.1.0.0/16 -j ACCEPT"}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, env.ipt.Rules(c.table, c.chain)); diff != "" {
			t.Errorf("%s %s after cleanup (-want +got):\n%s", c.table, c.chain, diff)
		}
	}

	// A second cleanup finds nothing and restores nothing.
	restores := env.ipt.Calls().Restore
	if res, err := Cleanup(env.ctx, env.ipt); err != nil || res != (CleanupResult{}) {
		t.Errorf("second Cleanup = %+v, %v; want nothing to do", res, err)
	}
	if env.ipt.Calls().Restore != restores {
		t.Error("second Cleanup ran a restore")
	}
}

func TestInvalidServiceEvent(t *testing.T) {
	rec := record.NewFakeRecorder(10)
	bad := service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP, func(s *v1.Service) {
		s.Spec.ExternalIPs = []string{"not-an-ip"}
	})
	env := newEnv(t, func(c *Config) { c.Recorder = rec }, bad)
	env.start(2)
	env.sync()
	select {
	case ev := <-rec.Events:
		if !strings.HasPrefix(ev, "Warning "+EventReasonInvalidService+" ") || !strings.Contains(ev, `"not-an-ip"`) {
			t.Errorf("event = %q, want a warning naming the bad address", ev)
		}
	default:
		t.Fatal("no Event for a Service with a malformed externalIP")
	}
	// The Service is still programmed, without the bad address.
	res := env.trace(iptablesPacket("10.96.0.10", 80))
	if got := res.Verdicts(); len(got) != 1 || got[0] != "REJECT" {
		t.Errorf("verdicts for the endpointless Service = %v, want REJECT\n%s", got, res)
	}
	// A later sync does not repeat the Event.
	env.p.tracker.needFull()
	env.sync()
	select {
	case ev := <-rec.Events:
		t.Errorf("repeated event %q", ev)
	default:
	}
}
