package render

import (
	"fmt"
	"testing"

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
			for b.Loop() {
				text, stats = WriteFull(Render(Config{}, snap), nil)
			}
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

// BenchmarkRenderPartial measures a partial sync's pure part at 10k
// Services after one Service's endpoints changed: finding the changed
// ports, re-rendering them and writing the partial restore text.
func BenchmarkRenderPartial(b *testing.B) {
	services, slices := genCluster(10000, 10)
	prevSnap, _ := snapshot.Build(testConfig, services, slices)
	prev := Render(Config{}, prevSnap)
	slices[4321] = slice(slices[4321].Namespace, services[4321].Name, "changed", "p80", 8080,
		readyEp("10.250.0.1", "node-x"), readyEp("10.250.0.2", testNode))
	nextSnap, _ := snapshot.Build(testConfig, services, slices)
	var text []byte
	var stats Stats
	b.ReportAllocs()
	for b.Loop() {
		changed := snapshot.Changed(prevSnap, nextSnap)
		next := RenderChanged(Config{}, nextSnap, prev, changed)
		text, stats = WritePartial(prev, next, changed)
	}
	reportStats(b, stats, len(text))
}
