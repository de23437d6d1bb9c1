package integration

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// eventually polls check every interval until it reports done or budget
// runs out; it returns the last description check gave and whether it
// succeeded. No fixed sleeps: the first success ends the wait.
func eventually(budget, interval time.Duration, check func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(budget)
	for {
		ok, desc := check()
		if ok || time.Now().After(deadline) {
			return ok, desc
		}
		time.Sleep(interval)
	}
}

// summary counts outcomes and answering servers of probe results, e.g.
// "answered by node1-pod1 x3, timeout x2".
func summary(res []ProbeResult) string {
	counts := map[string]int{}
	for _, r := range res {
		key := string(r.Outcome)
		if r.Outcome == Answered {
			key += " by " + r.Reply.Server
		} else if r.Err != "" {
			key += " (" + r.Err + ")"
		}
		counts[key]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s x%d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// servers returns the set of servers that answered, and whether every
// probe was answered.
func servers(res []ProbeResult) (map[string]bool, bool) {
	seen := map[string]bool{}
	all := true
	for _, r := range res {
		if r.Outcome != Answered {
			all = false
			continue
		}
		seen[r.Reply.Server] = true
	}
	return seen, all
}

// names returns the pods' names as a set.
func names(pods ...*Pod) map[string]bool {
	set := map[string]bool{}
	for _, p := range pods {
		set[p.Name] = true
	}
	return set
}

// setString formats a set sorted.
func setString(set map[string]bool) string {
	return "{" + strings.Join(slices.Sorted(maps.Keys(set)), ", ") + "}"
}

// allOutcome reports whether every result has outcome o.
func allOutcome(res []ProbeResult, o Outcome) bool {
	for _, r := range res {
		if r.Outcome != o {
			return false
		}
	}
	return len(res) > 0
}

// expectSpread probes addr from ns count times (retrying within a budget
// while rules settle) until every answer comes from want and every pod of
// want has answered.
func expectSpread(t *testing.T, topo *Topology, ns, proto, addr string, count int, want map[string]bool) {
	t.Helper()
	ok, desc := eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		res := probe(t, topo, ns, proto, addr, count)
		seen, all := servers(res)
		return all && maps.Equal(seen, want), summary(res)
	})
	if !ok {
		t.Errorf("%s %s from %s: got %s, want every probe answered and exactly %s answering", proto, addr, ns, desc, setString(want))
	}
}

// expectOutcome probes addr from ns count times until every probe has
// outcome o.
func expectOutcome(t *testing.T, topo *Topology, ns, proto, addr string, count int, o Outcome) {
	t.Helper()
	ok, desc := eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		res := probe(t, topo, ns, proto, addr, count)
		return allOutcome(res, o), summary(res)
	})
	if !ok {
		t.Errorf("%s %s from %s: got %s, want %s every time", proto, addr, ns, desc, o)
	}
}

// dumpOnFailure logs every node's iptables-save output (both backends)
// when the test has failed.
func dumpOnFailure(t *testing.T, topo *Topology) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, n := range topo.Nodes {
			for _, tool := range []string{"iptables-nft-save", "iptables-legacy-save"} {
				out, err := topo.Exec(ctx, n.NS, tool, "-c")
				t.Logf("%s in %s (%s), err=%v:\n%s", tool, n.Name, n.NS, err, out)
			}
		}
	})
}
