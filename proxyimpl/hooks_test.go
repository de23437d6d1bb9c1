package proxyimpl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/proxyimpl/render"
)

func TestFullSyncEnsuresOnlyMissingHooks(t *testing.T) {
	env := newEnv(t, nil,
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP),
		slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode}),
	)
	env.start(3)
	env.sync()
	if got, want := env.ipt.Calls().EnsureRule, len(render.Hooks()); got != want {
		t.Fatalf("EnsureRule calls after the first sync = %d, want %d", got, want)
	}

	// With every hook in place, iptables-save shows them all and a full
	// sync ensures none again.
	_, present, err := env.p.existingState(env.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := missing(present); len(got) != 0 {
		t.Errorf("hooks reported missing although all are in place: %v", got)
	}

	// A hook deleted behind the proxy's back is the only one ensured again.
	gone := render.Hooks()[2]
	if err := env.ipt.DeleteRule(env.ctx, gone.Table, gone.Chain, gone.Args...); err != nil {
		t.Fatal(err)
	}
	_, present, err = env.p.existingState(env.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]render.HookRule{gone}, missing(present)); diff != "" {
		t.Errorf("missing hooks (-want +got):\n%s", diff)
	}
}
