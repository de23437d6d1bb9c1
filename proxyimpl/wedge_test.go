package proxyimpl

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// TestFullSyncRemovesStrayJumpsToStaleChains checks that a full sync
// deletes the rules outside svccheck's chains that jump or go to a chain
// it deletes (the Fake refuses deleting a referenced chain, as the kernel
// does), and leaves every other foreign rule alone.
func TestFullSyncRemovesStrayJumpsToStaleChains(t *testing.T) {
	env := newEnv(t, nil,
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP),
		slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode}),
	)
	old := "*nat\n:SVCCHK-SVC-OLDOLDOLDOLDOLDO - [0:0]\n:DEBUG - [0:0]\n" +
		"-A SVCCHK-SVC-OLDOLDOLDOLDOLDO -j RETURN\n" +
		"-A OUTPUT -d 10.98.0.7/32 -p tcp -m comment --comment \"an old hook\" -j SVCCHK-SVC-OLDOLDOLDOLDOLDO\n" +
		"-A PREROUTING -s 10.98.0.8/32 -g SVCCHK-SVC-OLDOLDOLDOLDOLDO\n" +
		"-A DEBUG -s 10.98.0.9/32 -j RETURN\n" +
		"-A DEBUG -s 10.98.0.7/32 -j SVCCHK-SVC-OLDOLDOLDOLDOLDO\n" +
		"-A OUTPUT -d 10.98.0.10/32 -j DEBUG\nCOMMIT\n"
	if err := env.ipt.Restore(env.ctx, []byte(old)); err != nil {
		t.Fatal(err)
	}
	env.start(3)
	env.sync()
	env.sync() // a second full sync must not fail either
	saved, err := env.ipt.Save(env.ctx, iptables.TableNAT, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(saved); strings.Contains(got, "OLDOLD") {
		t.Errorf("nat table still names the stale chain:\n%s", got)
	}
	checks := []struct {
		chain iptables.Chain
		want  []string
	}{
		{"DEBUG", []string{"-A DEBUG -s 10.98.0.9/32 -j RETURN"}},
		{iptables.ChainPrerouting, []string{`-A PREROUTING -m comment --comment "svccheck service portals" -j SVCCHK-SERVICES`}},
		{iptables.ChainOutput, []string{
			`-A OUTPUT -m comment --comment "svccheck service portals" -j SVCCHK-SERVICES`,
			"-A OUTPUT -d 10.98.0.10/32 -j DEBUG",
		}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, env.ipt.Rules(iptables.TableNAT, c.chain)); diff != "" {
			t.Errorf("nat %s after the full sync (-want +got):\n%s", c.chain, diff)
		}
	}
}
