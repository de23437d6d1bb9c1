package proxyimpl

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/proxyimpl/render"
)

// hookInserts returns the "-I" lines of restore text data.
func hookInserts(data []byte) []string {
	var out []string
	for l := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(l, "-I ") {
			out = append(out, l)
		}
	}
	return out
}

func TestFullSyncInsertsOnlyMissingHooks(t *testing.T) {
	env := newEnv(t, nil,
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP),
		slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode}),
	)
	env.start(3)
	env.sync()
	// The first sync's one restore inserts every hook; no iptables
	// command runs per hook.
	if got := env.ipt.Calls().EnsureRule; got != 0 {
		t.Errorf("EnsureRule calls after the first sync = %d, want 0", got)
	}
	var want []string
	for _, h := range render.Hooks() {
		want = append(want, "-I "+string(h.Chain)+" 1 "+h.Spec())
	}
	if diff := cmp.Diff(want, hookInserts(env.ipt.LastRestore())); diff != "" {
		t.Errorf("hooks inserted by the first sync (-want +got):\n%s", diff)
	}

	// With every hook in place, iptables-save shows them all and a full
	// sync inserts none again.
	_, present, err := env.p.existingState(env.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := missing(present); len(got) != 0 {
		t.Errorf("hooks reported missing although all are in place: %v", got)
	}
	env.p.rules = nil
	env.sync()
	if got := hookInserts(env.ipt.LastRestore()); len(got) != 0 {
		t.Errorf("a full sync over the hooks inserted %q", got)
	}

	// A hook deleted behind the proxy's back is the only one inserted
	// again.
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
	env.p.rules = nil
	env.sync()
	if diff := cmp.Diff([]string{"-I " + string(gone.Chain) + " 1 " + gone.Spec()}, hookInserts(env.ipt.LastRestore())); diff != "" {
		t.Errorf("hooks inserted after one was deleted (-want +got):\n%s", diff)
	}
}
