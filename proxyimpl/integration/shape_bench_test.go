package integration

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// svcChain matches a per-port SVC chain name.
var svcChain = regexp.MustCompile(snapshot.SVCPrefix + `[A-Z2-7]{16}`)

// oneChain rewrites a full restore text so that every per-port SVC chain
// becomes the single chain SVCCHK-SVC-ALL: the same rules, one chain. With
// declare set, the original chains are still declared (empty).
func oneChain(full []byte, declare bool) []byte {
	var out bytes.Buffer
	seen := false
	for _, line := range bytes.SplitAfter(full, []byte("\n")) {
		if bytes.HasPrefix(line, []byte(":"+snapshot.SVCPrefix)) {
			if declare {
				out.Write(line)
			}
			if !seen {
				out.WriteString(":" + snapshot.SVCPrefix + "ALL - [0:0]\n")
				seen = true
			}
			continue
		}
		out.Write(svcChain.ReplaceAll(line, []byte(snapshot.SVCPrefix+"ALL")))
	}
	return out.Bytes()
}

// BenchmarkRestoreShape restores, bare, three texts with the same rules at
// 10000 x 10 on each backend: the proxy's full text (one chain per Service
// port), all per-port rules in one chain, and all rules in one chain with
// the per-port chains still declared (empty). It shows what the restore
// time depends on: the number of rules, or the number of chains beside
// them.
func BenchmarkRestoreShape(b *testing.B) {
	requireNetNS(b, restoreTool(iptables.BackendLegacy), restoreTool(iptables.BackendNFT))
	ctx := context.Background()
	f := newFixture(b, scale{10000, 10})
	texts := []struct {
		name string
		data []byte
	}{
		{"per-port-chains", f.full},
		{"one-chain", oneChain(f.full, false)},
		{"one-chain+empty-chains", oneChain(f.full, true)},
	}
	for _, backend := range backends {
		for _, tx := range texts {
			b.Run(fmt.Sprintf("%s/%s", backend, tx.name), func(b *testing.B) {
				var total restoreTime
				for i := range b.N {
					bt := timeBareRestore(b, ctx, leftover.Name(leftover.NetNSPrefix, fmt.Sprintf("shape-%d", i)), backend, tx.data)
					total.wall += bt.wall
					total.cpu += bt.cpu
				}
				b.ReportMetric(total.wall.Seconds()/float64(b.N), "bare-restore-s")
				b.ReportMetric(total.cpu.Seconds()/float64(b.N), "bare-cpu-s")
				b.ReportMetric(float64(bytes.Count(tx.data, []byte("\n:"))), "chains")
				b.ReportMetric(float64(bytes.Count(tx.data, []byte("\n-A "))), "rules")
			})
		}
	}
}
