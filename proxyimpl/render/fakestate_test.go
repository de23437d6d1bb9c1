package render

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
)

// probabilityRE finds statistic probabilities, which the kernel stores as
// fractions of 2^31 and prints back slightly off.
var probabilityRE = regexp.MustCompile(`--probability ([0-9.]+)`)

// roundProbabilities rounds every statistic probability in rule to 8
// decimals.
func roundProbabilities(rule string) string {
	return probabilityRE.ReplaceAllStringFunc(rule, func(m string) string {
		f, err := strconv.ParseFloat(m[len("--probability "):], 64)
		if err != nil {
			return m
		}
		return fmt.Sprintf("--probability %.8f", f)
	})
}

// fakeState applies the restore texts in order to a new Fake and returns
// every chain's rules keyed "table chain", probabilities rounded. The shared chains' rules are
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
			for i := range rules {
				rules[i] = roundProbabilities(rules[i])
			}
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
