package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// commentRE finds a rule's comment, quoted or a single word.
var commentRE = regexp.MustCompile(`-m comment --comment (?:"([^"]*)"|(\S+))`)

// comment returns the comment of rule spec, or "".
func comment(spec string) string {
	m := commentRE.FindStringSubmatch(spec)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// TestRuleInvariants checks, over every shape and the generated cluster,
// that every rule carries a comment naming whose it is (its Service port,
// or svccheck for the global rules), and every chain name has svccheck's
// prefix and at most 28 characters.
func TestRuleInvariants(t *testing.T) {
	var texts []string
	var sets []*RuleSet
	for _, tc := range shapeCases() {
		sets = append(sets, Render(Config{}, build(t, tc.services, tc.slices)))
	}
	services, slices := genCluster(200, 4)
	sets = append(sets, Render(Config{}, build(t, services, slices)))
	for _, rs := range sets {
		text, _ := WriteFull(rs, nil)
		texts = append(texts, string(text))
		for name, sr := range rs.Services {
			var specs []string
			for _, c := range sr.Chains {
				specs = append(specs, c.Rules...)
			}
			for _, r := range sr.Shared {
				specs = append(specs, r.Spec)
			}
			for _, spec := range specs {
				if !strings.Contains(comment(spec), name.String()) {
					t.Errorf("rule of %s without its name in the comment: %s", name, spec)
				}
			}
		}
		for _, c := range rs.Global {
			for _, spec := range c.Rules {
				if !strings.HasPrefix(comment(spec), "svccheck ") {
					t.Errorf("global rule of %s whose comment does not start with \"svccheck \": %s", c.Name, spec)
				}
			}
		}
		for _, spec := range rs.Hairpin.Rules {
			if c := comment(spec); !strings.HasPrefix(c, "svccheck hairpin ") || !strings.Contains(c, " for ") {
				t.Errorf("hairpin rule whose comment names no Service port: %s", spec)
			}
		}
	}
	for _, text := range texts {
		for _, line := range strings.Split(text, "\n") {
			switch {
			case strings.HasPrefix(line, "-A "), strings.HasPrefix(line, "-I "):
				if !strings.Contains(line, " -m comment --comment \"") {
					t.Errorf("rule without a comment: %s", line)
				}
				if c := comment(line); len(c) > maxCommentLen {
					t.Errorf("comment of %d bytes, more than iptables takes (%d): %s", len(c), maxCommentLen, line)
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
		"filter INPUT -m comment --comment svccheck load balancer firewall -m conntrack --ctstate NEW -j SVCCHK-PROXY-FIREWALL",
		"filter OUTPUT -m comment --comment svccheck load balancer firewall -m conntrack --ctstate NEW -j SVCCHK-PROXY-FIREWALL",
		"filter FORWARD -m comment --comment svccheck load balancer firewall -m conntrack --ctstate NEW -j SVCCHK-PROXY-FIREWALL",
		"filter INPUT -m comment --comment svccheck health check service ports -j SVCCHK-NODEPORTS",
		"filter FORWARD -m comment --comment svccheck forwarding rules -j SVCCHK-FORWARD",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
}
