package explain

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeBigDump writes a dump directory with one node whose nat table holds
// n ClusterIP Services of 10 endpoints each, in the shape svccheck's proxy
// writes (a dispatch chain, one chain per Service port with statistic
// rules), about 11 rules per Service.
func writeBigDump(tb testing.TB, n int) DumpDir {
	tb.Helper()
	return writeBigDumpTo(tb, tb.TempDir(), n)
}

// TestWriteBigDump writes the 10k-Service dump of BenchmarkExplain10k into
// $SVCCHECK_EXPLAIN_BIG_DUMP, to time the command itself on it:
// svccheck explain --dump DIR --from node node1 --to 10.96.39.249:80.
func TestWriteBigDump(t *testing.T) {
	dir := os.Getenv("SVCCHECK_EXPLAIN_BIG_DUMP")
	if dir == "" {
		t.Skip("set SVCCHECK_EXPLAIN_BIG_DUMP to a directory to write the 10k-Service dump into")
	}
	writeBigDumpTo(t, dir, 10000)
}

// writeBigDumpTo is writeBigDump into dir.
func writeBigDumpTo(tb testing.TB, dir string, n int) DumpDir {
	tb.Helper()
	node := filepath.Join(dir, "nodes", "node1")
	if err := os.MkdirAll(node, 0o755); err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n")
	b.WriteString(":SVCCHK-SERVICES - [0:0]\n:SVCCHK-MARK-MASQ - [0:0]\n:SVCCHK-POSTROUTING - [0:0]\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, ":SVCCHK-SVC-%016d - [0:0]\n", i)
	}
	b.WriteString("-A PREROUTING -m comment --comment \"svccheck service portals\" -j SVCCHK-SERVICES\n")
	b.WriteString("-A POSTROUTING -m comment --comment \"svccheck postrouting rules\" -j SVCCHK-POSTROUTING\n")
	b.WriteString("-A SVCCHK-MARK-MASQ -j MARK --or-mark 0x4000\n")
	b.WriteString("-A SVCCHK-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n")
	b.WriteString("-A SVCCHK-POSTROUTING -j MASQUERADE --random-fully\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "-A SVCCHK-SERVICES -d 10.96.%d.%d/32 -p tcp -m comment --comment \"ns%d/svc%d:http cluster IP\" -m tcp --dport 80 -j SVCCHK-SVC-%016d\n",
			i/250, i%250, i%100, i, i)
	}
	for i := 0; i < n; i++ {
		c := fmt.Sprintf("SVCCHK-SVC-%016d", i)
		fmt.Fprintf(&b, "-A %s ! -s 10.244.0.0/16 -j SVCCHK-MARK-MASQ\n", c)
		for e := 0; e < 10; e++ {
			stat := ""
			if e < 9 {
				stat = fmt.Sprintf(" -m statistic --mode random --probability %.11f", 1/float64(10-e))
			}
			fmt.Fprintf(&b, "-A %s -p tcp -m comment --comment \"ns%d/svc%d:http\"%s -j DNAT --to-destination 10.%d.%d.%d:8080\n",
				c, i%100, i, stat, 245+e/5, i/250, i%250)
		}
	}
	b.WriteString("COMMIT\n")
	files := map[string]string{
		"iptables-nat.txt":    b.String(),
		"iptables-filter.txt": "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
		"ip-addr.txt":         "2: eth0@if5: <UP>\n    inet 172.18.0.4/16 scope global eth0\n",
	}
	for f, text := range files {
		if err := os.WriteFile(filepath.Join(node, f), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return DumpDir(dir)
}

// BenchmarkExplain10k is what `svccheck explain --dump` does on a node
// with 10,000 Services x 10 endpoints (about 110k nat rules): read and
// index the tables, trace a packet to the last Service (parsing the
// chains it reaches), print the tree.
func BenchmarkExplain10k(b *testing.B) {
	dir := writeBigDump(b, 10000)
	src := Source{Kind: FromPod, Name: "ns/client", Addr: netip.MustParseAddr("10.244.9.9"), Node: "node1"}
	dst, err := ParseTarget("10.96.39.249:80")
	if err != nil {
		b.Fatal(err)
	}
	// The wall clock of a loaded machine overstates the cost: report the
	// process's CPU time per explanation beside it.
	start := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		node, err := dir.Node("node1")
		if err != nil {
			b.Fatal(err)
		}
		ex, err := Explain(node, src, dst)
		if err != nil {
			b.Fatal(err)
		}
		if len(ex.Paths) != 10 || ex.Outcome != OutcomeAccepted {
			b.Fatalf("want 10 accepted paths, got %d, %s", len(ex.Paths), ex.Outcome)
		}
		if err := WriteTree(io.Discard, ex); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuTime(b)-start).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
