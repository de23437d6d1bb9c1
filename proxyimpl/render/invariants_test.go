package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// TestRuleInvariants checks, over every shape and the generated cluster,
// that every rule carries a comment and every chain name has svccheck's
// prefix and at most 28 characters.
func TestRuleInvariants(t *testing.T) {
	var texts []string
	for _, tc := range shapeCases() {
		text, _ := WriteFull(Render(Config{}, build(t, tc.services, tc.slices)), nil)
		texts = append(texts, string(text))
	}
	services, slices := genCluster(200, 4)
	text, _ := WriteFull(Render(Config{}, build(t, services, slices)), nil)
	texts = append(texts, string(text))
	for _, text := range texts {
		for _, line := range strings.Split(text, "\n") {
			switch {
			case strings.HasPrefix(line, "-A "), strings.HasPrefix(line, "-I "):
				if !strings.Contains(line, " -m comment --comment \"") {
					t.Errorf("rule without a comment: %s", line)
				}
			case strings.HasPrefix(line, ":"):
				name, _, _ := strings.Cut(line[1:], " ")
				if !strings.HasPrefix(name, snapshot.ChainPrefix) || len(name) > 28 {
					t.Errorf("chain %q: want prefix %s and at most 28 characters", name, snapshot.ChainPrefix)
				}
			}
		}
	}
}

func TestHooks(t *testing.T) {
	var got []string
	for _, h := range Hooks() {
		got = append(got, string(h.Table)+" "+string(h.Chain)+" "+strings.Join(h.Args, " "))
	}
	want := []string{
		"nat PREROUTING -m comment --comment svccheck service portals -j SVCCHK-SERVICES",
		"nat OUTPUT -m comment --comment svccheck service portals -j SVCCHK-SERVICES",
		"nat POSTROUTING -m comment --comment svccheck postrouting rules -j SVCCHK-POSTROUTING",
		"filter OUTPUT -m comment --comment svccheck service portals -m conntrack --ctstate NEW -j SVCCHK-SERVICES",
		"filter FORWARD -m comment --comment svccheck service portals -m conntrack --ctstate NEW -j SVCCHK-SERVICES",
		"filter INPUT -m comment --comment svccheck external service portals -m conntrack --ctstate NEW -j SVCCHK-EXTERNAL-SERVICES",
		"filter FORWARD -m comment --comment svccheck external service portals -m conntrack --ctstate NEW -j SVCCHK-EXTERNAL-SERVICES",
		"filter INPUT -m comment --comment svccheck health check service ports -j SVCCHK-NODEPORTS",
		"filter FORWARD -m comment --comment svccheck forwarding rules -j SVCCHK-FORWARD",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
}
