package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// existingState returns what a full sync reads from iptables-save output:
// every table's chains, and the rules of svccheck's chains.
func existingState(t testing.TB, saved []byte) *Existing {
	t.Helper()
	if _, err := ipsave.Parse(saved); err != nil {
		t.Fatalf("parsing iptables-save output: %v\n%s", err, saved)
	}
	e := &Existing{Chains: map[iptables.Table][]string{}, Rules: map[iptables.Table]map[string][]string{}}
	var table iptables.Table
	for _, line := range strings.Split(string(saved), "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			table = iptables.Table(line[1:])
			e.Rules[table] = map[string][]string{}
		case strings.HasPrefix(line, ":"):
			name, _, _ := strings.Cut(line[1:], " ")
			e.Chains[table] = append(e.Chains[table], name)
			if strings.HasPrefix(name, snapshot.ChainPrefix) {
				e.Rules[table][name] = []string{}
			}
		case strings.HasPrefix(line, "-A "):
			chain, spec, _ := strings.Cut(line[len("-A "):], " ")
			if rules, ok := e.Rules[table][chain]; ok {
				e.Rules[table][chain] = append(rules, spec)
			}
		}
	}
	return e
}

// chainsOnly returns e without its rules: a full sync over it rewrites
// every chain.
func chainsOnly(e *Existing) *Existing {
	return &Existing{Chains: e.Chains}
}

// TestIntegrationRestore applies the texts of the partial sync cases with
// the real iptables-restore of both backends, each in a new network
// namespace: a full sync of the base state, then the partial sync; the
// kernel must then hold what a full sync of the changed state gives. A full
// resync on top must delete the stale chains, and the hooks must be
// accepted.
func TestIntegrationRestore(t *testing.T) {
	needRealIPTables(t)
	for _, b := range backends {
		for _, tc := range partialCases() {
			t.Run(string(b)+"/"+tc.name, func(t *testing.T) {
				ns := newScratch(t)
				prevFull, next, _, partial := tc.syncs(t)
				nextFull, _ := WriteFull(next, nil)
				if err := ns.restore(b, prevFull, false); err != nil {
					t.Fatalf("full sync: %v", err)
				}
				if err := ns.restore(b, partial, false); err != nil {
					t.Fatalf("partial sync: %v\n%s", err, partial)
				}
				saved, err := ns.save(b)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(fakeState(t, nextFull), fakeState(t, saved)); diff != "" {
					t.Errorf("kernel after partial sync (-full sync +kernel):\n%s", diff)
				}
			})
		}
		t.Run(string(b)+"/full resync deletes stale chains, hooks apply", func(t *testing.T) {
			ns := newScratch(t)
			prevFull, next, _, _ := partialCases()[5].syncs(t) // "delete a Service"
			if err := ns.restore(b, prevFull, false); err != nil {
				t.Fatalf("full sync: %v", err)
			}
			saved, err := ns.save(b)
			if err != nil {
				t.Fatal(err)
			}
			resync, stats := WriteFull(next, chainsOnly(existingState(t, saved)))
			if stats[iptables.TableNAT].Deleted != 2 {
				t.Errorf("full resync deletes %d nat chains, want 2 (SVC and EXT of ns1/svc2):\n%s",
					stats[iptables.TableNAT].Deleted, resync)
			}
			if err := ns.restore(b, resync, false); err != nil {
				t.Fatalf("full resync: %v", err)
			}
			if saved, err = ns.save(b); err != nil {
				t.Fatal(err)
			}
			nextFull, _ := WriteFull(next, nil)
			if diff := cmp.Diff(fakeState(t, nextFull), fakeState(t, saved)); diff != "" {
				t.Errorf("kernel after full resync (-want +kernel):\n%s", diff)
			}
			for _, h := range Hooks() {
				args := append([]string{"iptables-" + string(b), "-w", "-t", string(h.Table), "-A", string(h.Chain)}, h.Args...)
				if _, err := ns.run(nil, args...); err != nil {
					t.Errorf("hook %v: %v", h, err)
				}
				args[4] = "-C"
				if _, err := ns.run(nil, args...); err != nil {
					t.Errorf("hook %v not found after adding it: %v", h, err)
				}
			}
		})
	}
}

// TestIntegrationRestoreShapes applies the full text of every shape and of
// the packet-flow cluster with the real iptables-restore of both backends;
// the kernel must then hold exactly what the Fake holds.
func TestIntegrationRestoreShapes(t *testing.T) {
	needRealIPTables(t)
	type named struct {
		name string
		text []byte
	}
	var texts []named
	for _, tc := range shapeCases() {
		text, _ := WriteFull(Render(Config{}, build(t, tc.services, tc.slices)), nil)
		texts = append(texts, named{tc.name, text})
	}
	services, slices := flowServices()
	flow, _ := WriteFull(Render(Config{}, build(t, services, slices)), nil)
	texts = append(texts, named{"packet-flow cluster", flow})
	for _, b := range backends {
		for _, tc := range texts {
			t.Run(string(b)+"/"+tc.name, func(t *testing.T) {
				ns := newScratch(t)
				if err := ns.restore(b, tc.text, false); err != nil {
					t.Fatalf("restore: %v\n%s", err, tc.text)
				}
				saved, err := ns.save(b)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(fakeState(t, tc.text), fakeState(t, saved)); diff != "" {
					t.Errorf("kernel state (-fake +kernel):\n%s", diff)
				}
			})
		}
	}
}

// TestIntegrationRestoreBatched applies a batched full sync with the real
// iptables-restore of both backends: the kernel must hold what one
// transaction gives.
func TestIntegrationRestoreBatched(t *testing.T) {
	needRealIPTables(t)
	single, batched, _, _ := batchedCase(t)
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ns := newScratch(t)
			if err := ns.restore(b, batched, false); err != nil {
				t.Fatalf("batched restore: %v", err)
			}
			saved, err := ns.save(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fakeState(t, single), fakeState(t, saved)); diff != "" {
				t.Errorf("kernel after batched full sync (-one transaction +kernel):\n%s", diff)
			}
		})
	}
}
