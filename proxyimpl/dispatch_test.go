package proxyimpl

import (
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	"github.com/svccheck/svccheck/proxyimpl/render"
)

// dispatchObjects returns Services from..to-1 of the dispatch test, each
// with one endpoint, and their slices.
func dispatchObjects(from, to int) []runtime.Object {
	var objs []runtime.Object
	for i := from; i < to; i++ {
		name := fmt.Sprintf("svc-%03d", i)
		objs = append(objs, service("dsp", name, fmt.Sprintf("10.96.1.%d", i+1), 80, v1.ProtocolTCP),
			slice("dsp", name, name+"-1", 8080, v1.ProtocolTCP, endpoint{fmt.Sprintf("10.244.1.%d", i+1), "node-b"}))
	}
	return objs
}

// dispatchChains returns the nat dispatch bucket chains the Fake holds.
func dispatchChains(t *testing.T, env *testEnv) []string {
	t.Helper()
	var out []string
	nat := env.ipt.Dump().Table(iptables.TableNAT)
	if nat == nil {
		return nil
	}
	for _, c := range nat.Chains {
		if strings.HasPrefix(string(c.Name), render.DispatchPrefix) {
			out = append(out, string(c.Name))
		}
	}
	return out
}

// expectServices traces a packet to each of Services from..to-1 and
// checks it reaches the Service's endpoint.
func expectServices(t *testing.T, env *testEnv, from, to int, when string) {
	t.Helper()
	for i := from; i < to; i++ {
		res := env.trace(iptrace.Packet{Source: "10.244.0.9", Destination: fmt.Sprintf("10.96.1.%d", i+1), Protocol: "tcp", DestinationPort: 80})
		if got, want := res.Endpoints(), fmt.Sprintf("10.244.1.%d:8080", i+1); len(got) != 1 || got[0] != want {
			t.Fatalf("%s: a packet to svc-%03d reaches %v, want %s\n%s", when, i, got, want, res)
		}
	}
}

// TestDispatchTreeRebalance grows a proxy's Services past the flat
// dispatch limit and back: the sync that crosses it writes every chain
// (dispatch bucket chains appear, or go with their jumps), a sync inside
// the window only touches the changed Service's bucket chain, and every
// Service answers throughout.
func TestDispatchTreeRebalance(t *testing.T) {
	env := newEnv(t, nil, dispatchObjects(0, 64)...)
	env.start(1 + 128)
	env.sync()
	if got := dispatchChains(t, env); len(got) != 0 {
		t.Fatalf("64 Services: dispatch chains %v, want the flat chain", got)
	}
	expectServices(t, env, 0, 64, "64 Services, flat")

	seen := env.p.events.Load()
	env.create(dispatchObjects(64, 65)...)
	env.waitEvents(seen + 2)
	env.sync()
	if got := dispatchChains(t, env); len(got) != 8 {
		t.Fatalf("65 Services: dispatch chains %v, want 8", got)
	}
	expectServices(t, env, 0, 65, "65 Services, re-balanced")

	seen = env.p.events.Load()
	env.create(dispatchObjects(65, 66)...)
	env.waitEvents(seen + 2)
	env.sync()
	text := string(env.ipt.LastRestore())
	if strings.Contains(text, ":"+render.DispatchPrefix) || strings.Count(text, "-I "+render.DispatchPrefix) != 1 {
		t.Errorf("adding a 66th Service: want one rule inserted into one bucket chain, got:\n%s", text)
	}
	expectServices(t, env, 0, 66, "66 Services")

	for i := 20; i < 40; i++ {
		seen = env.p.events.Load()
		if err := env.client.CoreV1().Services("dsp").Delete(env.ctx, fmt.Sprintf("svc-%03d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		env.waitEvents(seen + 1)
	}
	env.sync()
	if got := dispatchChains(t, env); len(got) != 0 {
		t.Fatalf("46 Services: dispatch chains %v left, want the flat chain", got)
	}
	expectServices(t, env, 0, 20, "46 Services, flat again")
	expectServices(t, env, 40, 66, "46 Services, flat again")
}
