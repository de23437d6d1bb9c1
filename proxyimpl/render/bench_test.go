package render

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// benchSizes are the Service counts of the benchmarks (10 endpoints each).
var benchSizes = []int{1000, 3000, 10000}

func reportStats(b *testing.B, stats Stats, size int) {
	nat, filter := stats[iptables.TableNAT], stats[iptables.TableFilter]
	b.ReportMetric(float64(nat.Chains+filter.Chains), "chains")
	b.ReportMetric(float64(nat.Rules+filter.Rules), "rules")
	b.ReportMetric(float64(nat.Deleted+filter.Deleted), "deleted")
	b.ReportMetric(float64(size)/1e6, "MB")
}

// cpuTime returns the user and system CPU time the process used so far.
// Per operation it shows the work done regardless of how busy the machine
// is, which wall-clock ns/op does not.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRender measures a full sync's pure part: rendering a snapshot
// and writing the full restore text.
func BenchmarkRender(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("services=%d/endpoints=10", n), func(b *testing.B) {
			services, slices := genCluster(n, 10)
			snap, _ := snapshot.Build(testConfig, services, slices)
			var text []byte
			var stats Stats
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				text, stats = WriteFull(Render(Config{}, snap), nil)
			}
			b.ReportMetric(float64((cpuTime(b)-start).Milliseconds())/float64(b.N), "cpu-ms/op")
			reportStats(b, stats, len(text))
		})
	}
}

// BenchmarkBuild measures building the snapshot from API objects.
func BenchmarkBuild(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("services=%d/endpoints=10", n), func(b *testing.B) {
			services, slices := genCluster(n, 10)
			b.ReportAllocs()
			for b.Loop() {
				snapshot.Build(testConfig, services, slices)
			}
		})
	}
}

// changeOne returns snapshots of a 10k x 10 cluster before and after one
// Service's endpoints changed (a remote endpoint replaced, a local added).
func changeOne() (prev, next *snapshot.Snapshot) {
	services, slices := genCluster(10000, 10)
	prev, _ = snapshot.Build(testConfig, services, slices)
	slices[4321] = slice(slices[4321].Namespace, services[4321].Name, "changed", "p80", 8080,
		readyEp("10.250.0.1", "node-x"), readyEp("10.250.0.2", testNode))
	next, _ = snapshot.Build(testConfig, services, slices)
	return prev, next
}

// BenchmarkRenderPartial measures a partial sync's pure part at 10k
// Services after one Service's endpoints changed: finding the changed
// ports, re-rendering them and writing the partial restore text.
func BenchmarkRenderPartial(b *testing.B) {
	prevSnap, nextSnap := changeOne()
	prev := Render(Config{}, prevSnap)
	var text []byte
	var stats Stats
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		changed := snapshot.Changed(prevSnap, nextSnap)
		next := RenderChanged(Config{}, nextSnap, prev, changed)
		text, stats = WritePartial(prev, next, changed)
	}
	b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	reportStats(b, stats, len(text))
}

// BenchmarkRestore applies rendered text with the real iptables-restore of
// each backend in a new network namespace: a full sync at each size (into
// an empty namespace), and a one-Service partial sync at 10k Services
// (alternating between the two states). It needs root.
func BenchmarkRestore(b *testing.B) {
	needRealIPTables(b)
	for _, backend := range backends {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/full/services=%d/endpoints=10", backend, n), func(b *testing.B) {
				services, slices := genCluster(n, 10)
				snap, _ := snapshot.Build(testConfig, services, slices)
				text, stats := WriteFull(Render(Config{}, snap), nil)
				for range b.N {
					b.StopTimer()
					ns := newScratch(b)
					b.StartTimer()
					if err := ns.restore(backend, text, false); err != nil {
						b.Fatal(err)
					}
				}
				reportStats(b, stats, len(text))
			})
		}
		if backend == iptables.BackendNFT {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("%s/full-batched/services=%d/endpoints=10", backend, n), func(b *testing.B) {
					services, slices := genCluster(n, 10)
					snap, _ := snapshot.Build(testConfig, services, slices)
					text, stats := WriteFullBatched(Render(Config{}, snap), nil, DefaultBatchRules)
					for range b.N {
						b.StopTimer()
						ns := newScratch(b)
						b.StartTimer()
						if err := ns.restore(backend, text, false); err != nil {
							b.Fatal(err)
						}
					}
					reportStats(b, stats, len(text))
				})
			}
		}
		b.Run(fmt.Sprintf("%s/partial/services=10000/endpoints=10", backend), func(b *testing.B) {
			prevSnap, nextSnap := changeOne()
			prev := Render(Config{}, prevSnap)
			changed := snapshot.Changed(prevSnap, nextSnap)
			next := RenderChanged(Config{}, nextSnap, prev, changed)
			full, _ := WriteFull(prev, nil)
			forward, stats := WritePartial(prev, next, changed)
			back, _ := WritePartial(next, prev, changed)
			ns := newScratch(b)
			if err := ns.restore(backend, full, false); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				text := forward
				if i%2 == 1 {
					text = back
				}
				if err := ns.restore(backend, text, false); err != nil {
					b.Fatal(err)
				}
			}
			reportStats(b, stats, len(forward))
		})
	}
}
