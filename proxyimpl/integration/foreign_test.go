package integration

import (
	"context"
	"regexp"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/proxyimpl"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// foreignRules are rules and a chain svccheck does not own, as
// "table chain args...".
var foreignRules = [][]string{
	{"nat", "-N", "FOREIGN"},
	{"nat", "-A", "FOREIGN", "-s", "10.98.0.0/24", "-j", "RETURN"},
	{"nat", "-A", "PREROUTING", "-s", "10.98.0.0/24", "-j", "FOREIGN"},
	{"nat", "-A", "POSTROUTING", "-s", "10.99.0.0/24", "-m", "comment", "--comment", "foreign", "-j", "RETURN"},
	{"filter", "-A", "INPUT", "-s", "10.99.0.0/24", "-m", "comment", "--comment", "foreign", "-j", "ACCEPT"},
}

// chainCounters matches the packet and byte counters of a chain
// declaration line (":PREROUTING ACCEPT [1:40]"), which iptables-save
// prints even without -c.
var chainCounters = regexp.MustCompile(`\[\d+:\d+\]$`)

// foreignView returns the lines of both tables' iptables-save output that
// are not svccheck's: no comment lines, nothing naming an SVCCHK- chain.
// Chain policy counters are zeroed: any stray packet through a built-in
// chain's policy moves them, and they are not rules.
func foreignView(t *testing.T, c *cluster, n *Node) string {
	t.Helper()
	var lines []string
	for _, table := range []iptables.Table{iptables.TableFilter, iptables.TableNAT} {
		for _, line := range strings.Split(c.save(n, table, false), "\n") {
			if strings.HasPrefix(line, "#") || strings.Contains(line, snapshot.ChainPrefix) {
				continue
			}
			if strings.HasPrefix(line, ":") {
				line = chainCounters.ReplaceAllString(line, "[0:0]")
			}
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// TestIntegrationForeignRulesSurvive checks that rules and chains svccheck
// does not own survive a full sync by a restarted proxy and a cleanup, and
// that cleanup leaves no SVCCHK- state behind.
func TestIntegrationForeignRulesSurvive(t *testing.T) {
	c := newCluster(t, 1, 1)
	n := c.topo.Nodes[0]
	pod := n.Pods[0]
	svc := newService("web", vip(90), v1.ProtocolTCP, 80, nodePort(30090))
	c.create(svc, newSlice(svc, pod))
	c.settle()
	ctx := context.Background()
	for _, r := range foreignRules {
		args := append([]string{"-w", "-t", r[0]}, r[1:]...)
		if out, err := c.topo.Exec(ctx, n.NS, "iptables-"+string(testBackend()), args...); err != nil {
			t.Fatalf("adding a foreign rule: %v: %s", err, out)
		}
	}
	want := foreignView(t, c, n)
	for _, s := range []string{"FOREIGN", "10.98.0.0/24", "10.99.0.0/24"} {
		if strings.Count(want, s) == 0 {
			t.Fatalf("foreign rules missing %q before any sync:\n%s", s, want)
		}
	}

	// A restarted proxy starts with a full sync over the existing state,
	// which repairs what was changed behind its back (here: the dispatch
	// chain flushed) and leaves intact chains alone.
	c.nodes[n.Name].shutdown(t)
	if out, err := c.topo.Exec(ctx, n.NS, "iptables-"+string(testBackend()), "-w", "-t", "nat", "-F", render.ChainServices); err != nil {
		t.Fatalf("flushing %s: %v: %s", render.ChainServices, err, out)
	}
	np := c.startProxy(n)
	texts := np.ipt.since(0)
	if len(texts) == 0 || !strings.Contains(string(texts[0]), ":"+render.ChainServices+" ") {
		t.Fatalf("first restore of the restarted proxy does not repair %s:\n%s", render.ChainServices, texts)
	}
	if strings.Contains(string(texts[0]), ":"+snapshot.SVCPrefix) {
		t.Errorf("first restore of the restarted proxy rewrites an intact port chain:\n%s", texts[0])
	}
	expectSpread(t, c.topo, c.topo.Client, "tcp", hostPort(n.IP, 30090), 3, names(pod))
	if got := foreignView(t, c, n); got != want {
		t.Errorf("foreign rules after a full sync:\n%s\nwant:\n%s", got, want)
	}

	np.shutdown(t)
	res, err := proxyimpl.Cleanup(ctx, np.ipt)
	if err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	if res.Chains == 0 || res.Hooks == 0 {
		t.Errorf("cleanup removed %d chains and %d hooks, want some of each", res.Chains, res.Hooks)
	}
	for _, table := range []iptables.Table{iptables.TableFilter, iptables.TableNAT} {
		if save := c.save(n, table, false); strings.Contains(save, snapshot.ChainPrefix) {
			t.Errorf("%s table after cleanup still holds svccheck state:\n%s", table, save)
		}
	}
	if got := foreignView(t, c, n); got != want {
		t.Errorf("foreign rules after cleanup:\n%s\nwant:\n%s", got, want)
	}
	expectOutcome(t, c.topo, c.topo.Client, "tcp", hostPort(n.IP, 30090), 1, Refused)
}
