package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// batchedCase renders 60 generated Services, with stale chains left over
// from a previous sync, in one transaction and in batches of about 25 rules.
func batchedCase(t *testing.T) (single, batched []byte, singleStats, batchedStats Stats) {
	t.Helper()
	services, slices := genCluster(60, 3)
	snap := build(t, services, slices)
	rs := Render(Config{}, snap)
	existing := &Existing{Chains: map[iptables.Table][]string{
		iptables.TableNAT:    {"SVCCHK-SVC-STALE0000000000", "SVCCHK-EXT-STALE0000000000"},
		iptables.TableFilter: {"SVCCHK-OLD"},
	}}
	single, singleStats = WriteFull(rs, existing)
	batched, batchedStats = WriteFullBatched(rs, existing, 25)
	return single, batched, singleStats, batchedStats
}

func TestWriteFullBatched(t *testing.T) {
	single, batched, singleStats, batchedStats := batchedCase(t)
	if n := strings.Count(string(batched), "*nat\n"); n < 5 {
		t.Errorf("batched text has %d nat transactions, want at least 5", n)
	}
	if diff := cmp.Diff(fakeState(t, single), fakeState(t, batched)); diff != "" {
		t.Errorf("state after batched full sync (-one transaction +batched):\n%s", diff)
	}
	if diff := cmp.Diff(singleStats, batchedStats); diff != "" {
		t.Errorf("stats (-one transaction +batched):\n%s", diff)
	}
	// Over an existing state, too: the previous sync's rules are replaced.
	baseServices, baseSlices := partialBase()
	old, _ := WriteFull(Render(Config{}, build(t, baseServices, baseSlices)), nil)
	if diff := cmp.Diff(fakeState(t, old, single), fakeState(t, old, batched)); diff != "" {
		t.Errorf("state after batched resync (-one transaction +batched):\n%s", diff)
	}
	// No batching asked for: exactly WriteFull.
	rs := Render(Config{}, &snapshot.Snapshot{})
	a, _ := WriteFull(rs, nil)
	b, _ := WriteFullBatched(rs, nil, 0)
	if diff := cmp.Diff(string(a), string(b)); diff != "" {
		t.Errorf("WriteFullBatched(0) (-WriteFull +batched):\n%s", diff)
	}
}

func TestBatchRules(t *testing.T) {
	rules := func(n int) []string { return make([]string, n) }
	cases := []struct {
		name     string
		existing *Existing
		want     int
	}{
		{"nothing read", nil, DefaultBatchRules},
		{"empty tables", &Existing{Chains: map[iptables.Table][]string{iptables.TableNAT: {"PREROUTING"}}}, DefaultBatchRules},
		{"small live table", &Existing{Rules: map[iptables.Table]map[string][]string{
			iptables.TableNAT: {"SVCCHK-SVC-A": rules(11), "SVCCHK-SERVICES": rules(5)},
		}}, DefaultBatchRules},
		{"10k Services x 10 live", &Existing{Rules: map[iptables.Table]map[string][]string{
			iptables.TableNAT:    {"SVCCHK-SVC-A": rules(110000), "SVCCHK-SERVICES": rules(10001)},
			iptables.TableFilter: {"SVCCHK-SERVICES": rules(7)},
		}}, 120008 / 8},
	}
	for _, tc := range cases {
		if got := BatchRules(tc.existing); got != tc.want {
			t.Errorf("%s: BatchRules = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestWriteFullBatchedKeepsOldHairpin checks that a batched full sync over
// a hairpin rule of an endpoint the new rules lack keeps that rule until
// the last nat transaction: the ports' old rules, which still DNAT to the
// endpoint until their own transaction, need it.
func TestWriteFullBatchedKeepsOldHairpin(t *testing.T) {
	services, slices := genCluster(60, 3)
	rs := Render(Config{}, build(t, services, slices))
	if len(rs.Hairpin.Rules) == 0 {
		t.Fatal("the generated cluster has no hairpin rules: the test proves nothing")
	}
	gone := `-s 10.99.0.9/32 -d 10.99.0.9/32 -m comment --comment "svccheck hairpin 10.99.0.9 for ns/gone:p" -j ` + ChainMarkMasq
	existing := &Existing{
		Chains: map[iptables.Table][]string{iptables.TableNAT: {ChainHairpin}},
		Rules:  map[iptables.Table]map[string][]string{iptables.TableNAT: {ChainHairpin: {gone}}},
	}
	text, _ := WriteFullBatched(rs, existing, 25)
	var nat []string
	for _, block := range strings.SplitAfter(string(text), "COMMIT\n") {
		if strings.HasPrefix(block, "*nat\n") {
			nat = append(nat, block)
		}
	}
	if len(nat) < 3 {
		t.Fatalf("%d nat transactions, want at least 3", len(nat))
	}
	if !strings.Contains(nat[0], gone) {
		t.Errorf("the first nat transaction drops the hairpin rule of an endpoint the old port rules still DNAT to:\n%s", nat[0])
	}
	last := nat[len(nat)-1]
	if !strings.Contains(last, ":"+ChainHairpin+" ") || strings.Contains(last, gone) {
		t.Errorf("the last nat transaction does not write the new hairpin chain alone:\n%s", last)
	}
	state := fakeState(t, text)
	if got := state["nat "+ChainHairpin]; len(got) != len(rs.Hairpin.Rules) {
		t.Errorf("hairpin chain after the sync has %d rules, want the %d new ones: %q", len(got), len(rs.Hairpin.Rules), got)
	}
}
