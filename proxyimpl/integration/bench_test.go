package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
)

// backends are the iptables backends the restore benchmarks cover.
var backends = []iptables.Backend{iptables.BackendLegacy, iptables.BackendNFT}

// BenchmarkRender times rendering a whole synthetic cluster to restore text
// (snapshot to RuleSet to text), without any restore.
func BenchmarkRender(b *testing.B) {
	for _, s := range []scale{{1000, 10}, {3000, 10}, {10000, 10}} {
		b.Run(s.String(), func(b *testing.B) {
			f := newFixture(b, s)
			chains, rules := totals(f.stats)
			b.ResetTimer()
			for range b.N {
				rs := render.Render(render.Config{}, f.snap)
				render.WriteFull(rs, nil)
			}
			b.ReportMetric(float64(chains), "chains")
			b.ReportMetric(float64(rules), "rules")
		})
	}
}

// BenchmarkRestoreFull times a full sync of a synthetic cluster into a
// fresh network namespace with real iptables-restore, for each backend.
// Beside the time it reports the chain and rule counts, the time of a bare
// iptables-restore of the same text, and the rules a first packet to the
// last Service walks before its DNAT.
func BenchmarkRestoreFull(b *testing.B) {
	requireNetNS(b, restoreTool(iptables.BackendLegacy), restoreTool(iptables.BackendNFT))
	ctx := context.Background()
	for _, s := range []scale{{1000, 10}, {3000, 10}, {10000, 10}} {
		f := newFixture(b, s)
		chains, rules := totals(f.stats)
		walkedFewest, walkedMost := walkedRules(b, f)
		for _, backend := range backends {
			b.Run(fmt.Sprintf("%s/%s", backend, s), func(b *testing.B) {
				var bare restoreTime
				var parts syncTimes
				b.StopTimer()
				for i := range b.N {
					ns := leftover.Name(leftover.NetNSPrefix, fmt.Sprintf("bench-%d", i))
					bt := timeBareRestore(b, ctx, ns, backend, f.full)
					bare.wall += bt.wall
					bare.cpu += bt.cpu
					if err := addNS(ctx, ns); err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { removeNS(ns) })
					b.StartTimer()
					st, err := fullSync(ctx, ns, backend, f)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					parts = parts.add(st)
					if err := deleteNS(ctx, ns); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(chains), "chains")
				b.ReportMetric(float64(rules), "rules")
				b.ReportMetric(bare.wall.Seconds()/float64(b.N), "bare-restore-s")
				b.ReportMetric(bare.cpu.Seconds()/float64(b.N), "bare-cpu-s")
				b.ReportMetric(parts.render.Seconds()/float64(b.N), "render-s")
				b.ReportMetric(parts.restore.Seconds()/float64(b.N), "restore-s")
				b.ReportMetric(parts.hooks.Seconds()/float64(b.N), "hooks-s")
				b.ReportMetric(float64(walkedFewest), "walked-min")
				b.ReportMetric(float64(walkedMost), "walked-max")
			})
		}
	}
}

// BenchmarkRestorePartial times a one-Service partial sync (render of the
// changed port, partial restore text, real restore) on top of a full sync
// of a synthetic cluster, for each backend.
func BenchmarkRestorePartial(b *testing.B) {
	requireNetNS(b, restoreTool(iptables.BackendLegacy), restoreTool(iptables.BackendNFT))
	ctx := context.Background()
	s := scale{10000, 10}
	f := newFixture(b, s)
	next, changed := f.changeLast(b)
	for _, backend := range backends {
		b.Run(fmt.Sprintf("%s/%s", backend, s), func(b *testing.B) {
			var bare restoreTime
			var parts syncTimes
			var chains, rules, deleted int
			b.StopTimer()
			for i := range b.N {
				ns := leftover.Name(leftover.NetNSPrefix, fmt.Sprintf("bench-%d", i))
				if err := addNS(ctx, ns); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { removeNS(ns) })
				if _, err := fullSync(ctx, ns, backend, f); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				rs := render.RenderChanged(render.Config{}, next, f.rules, changed)
				text, st := render.WritePartial(f.rules, rs, changed)
				rendered := time.Now()
				err := restore(ctx, ns, backend, text)
				b.StopTimer()
				parts.restore += time.Since(rendered)
				parts.render += rendered.Sub(start)
				if err != nil {
					b.Fatal(err)
				}
				chains, rules = totals(st)
				deleted = st[iptables.TableNAT].Deleted + st[iptables.TableFilter].Deleted
				// The same partial text, bare, on a second fresh full sync.
				if err := deleteNS(ctx, ns); err != nil {
					b.Fatal(err)
				}
				if err := addNS(ctx, ns); err != nil {
					b.Fatal(err)
				}
				if _, err := fullSync(ctx, ns, backend, f); err != nil {
					b.Fatal(err)
				}
				d, err := bareRestore(ctx, ns, backend, text)
				if err != nil {
					b.Fatal(err)
				}
				bare.wall += d.wall
				bare.cpu += d.cpu
				if err := deleteNS(ctx, ns); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(chains), "chains")
			b.ReportMetric(float64(rules), "rules")
			b.ReportMetric(float64(deleted), "deleted")
			b.ReportMetric(bare.wall.Seconds()/float64(b.N), "bare-restore-s")
			b.ReportMetric(bare.cpu.Seconds()/float64(b.N), "bare-cpu-s")
			b.ReportMetric(parts.render.Seconds()/float64(b.N), "render-s")
			b.ReportMetric(parts.restore.Seconds()/float64(b.N), "restore-s")
		})
	}
}

// timeBareRestore restores data with the bare tool into a fresh namespace
// ns, deletes it again and returns how long the restore took.
func timeBareRestore(b *testing.B, ctx context.Context, ns string, backend iptables.Backend, data []byte) restoreTime {
	b.Helper()
	if err := addNS(ctx, ns); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { removeNS(ns) })
	d, err := bareRestore(ctx, ns, backend, data)
	if delErr := deleteNS(ctx, ns); delErr != nil {
		b.Fatal(delErr)
	}
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// removeNS deletes namespace ns if a failed benchmark left it behind.
func removeNS(ns string) {
	if _, err := os.Stat("/run/netns/" + ns); err == nil {
		_ = deleteNS(context.Background(), ns)
	}
}
