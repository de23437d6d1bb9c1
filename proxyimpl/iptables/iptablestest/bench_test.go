package iptablestest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
)

// bigRuleset renders n services with three endpoints each, in the shape
// svccheck's proxy writes.
func bigRuleset(n int) []byte {
	var b strings.Builder
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:SVCCHK-SERVICES - [0:0]\n:SVCCHK-MARK-MASQ - [0:0]\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, ":SVCCHK-SVC-%016d - [0:0]\n", i)
	}
	b.WriteString("-A PREROUTING -j SVCCHK-SERVICES\n-A SVCCHK-MARK-MASQ -j MARK --or-mark 0x4000\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "-A SVCCHK-SERVICES -d 10.96.%d.%d/32 -p tcp -m comment --comment \"ns/svc%d:http cluster IP\" -m tcp --dport 80 -j SVCCHK-SVC-%016d\n",
			i/250, i%250, i, i)
	}
	for i := 0; i < n; i++ {
		c := fmt.Sprintf("SVCCHK-SVC-%016d", i)
		fmt.Fprintf(&b, "-A %s ! -s 10.244.0.0/16 -j SVCCHK-MARK-MASQ\n", c)
		fmt.Fprintf(&b, "-A %s -m statistic --mode random --probability 0.33333333349 -p tcp -j DNAT --to-destination 10.244.1.%d:8080\n", c, i%250)
		fmt.Fprintf(&b, "-A %s -m statistic --mode random --probability 0.50000000000 -p tcp -j DNAT --to-destination 10.244.2.%d:8080\n", c, i%250)
		fmt.Fprintf(&b, "-A %s -p tcp -j DNAT --to-destination 10.244.3.%d:8080\n", c, i%250)
	}
	b.WriteString("COMMIT\n")
	return []byte(b.String())
}

// BenchmarkFakeRestore restores 10000 services into a Fake holding them
// already (a full resync).
func BenchmarkFakeRestore(b *testing.B) {
	data := bigRuleset(10000)
	f := NewFake()
	ctx := context.Background()
	if err := f.Restore(ctx, data); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := f.Restore(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrace traces a packet to the last of 10000 services.
func BenchmarkTrace(b *testing.B) {
	d, err := ipsave.Parse(bigRuleset(10000))
	if err != nil {
		b.Fatal(err)
	}
	tr, err := iptrace.New(d, "192.168.0.2")
	if err != nil {
		b.Fatal(err)
	}
	pkt := iptrace.Packet{Source: "10.244.9.9", Protocol: "tcp", Destination: "10.96.39.249", DestinationPort: 80}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := tr.Trace(pkt)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Paths) != 3 || res.Paths[0].RulesBeforeDNAT < 10000 {
			b.Fatalf("unexpected trace:\n%s", res)
		}
	}
}
