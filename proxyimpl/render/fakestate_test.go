package render

import (
	"context"
	"slices"
	"testing"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
)

// fakeState applies the restore texts in order to a new Fake and returns
// every chain's rules keyed "table chain". The shared chains' rules are
// sorted (partial syncs insert at the top, full syncs append in name
// order), after checking that the nat dispatch chain ends with the node
// port jump.
func fakeState(t *testing.T, texts ...[]byte) map[string][]string {
	t.Helper()
	fake := iptablestest.NewFake()
	for i, text := range texts {
		if err := fake.Restore(context.Background(), text); err != nil {
			t.Fatalf("restore %d: %v\n%s", i, err, text)
		}
	}
	state := map[string][]string{}
	for _, tbl := range fake.Dump().Tables {
		for _, c := range tbl.Chains {
			rules := fake.Rules(tbl.Name, c.Name)
			if tbl.Name == iptables.TableNAT && c.Name == ChainServices {
				if len(rules) == 0 || !slices.Contains([]string{rules[len(rules)-1]}, "-A "+ChainServices+" "+
					`-m comment --comment "svccheck service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j `+ChainNodePorts) {
					t.Errorf("nat %s does not end with the node port jump: %q", ChainServices, rules)
				}
			}
			if sharedChains[tableChain{tbl.Name, string(c.Name)}] {
				slices.Sort(rules)
			}
			state[string(tbl.Name)+" "+string(c.Name)] = rules
		}
	}
	return state
}
