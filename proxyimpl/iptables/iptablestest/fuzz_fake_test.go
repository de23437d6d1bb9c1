package iptablestest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
)

// addRestoreSeeds adds the captured rulesets and a few syncs as seeds.
func addRestoreSeeds(f *testing.F) {
	files, _ := filepath.Glob("../ipsave/testdata/*.restore")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("*nat\n:SVCCHK-SERVICES - [0:0]\n:SVCCHK-SVC-ABCDEF0123456789 - [0:0]\n-X SVCCHK-SVC-ABCDEF0123456789\nCOMMIT\n"))
	f.Add([]byte("*filter\n-F\n-X\nCOMMIT\n"))
	f.Add([]byte("*nat\n-I SVCCHK-HAIRPIN 2 -j RETURN\n-D SVCCHK-HAIRPIN 1\nCOMMIT\n"))
}

// FuzzFakeRestore restores arbitrary text on top of the captured ruleset:
// a failed Restore must change nothing, a successful one must leave tables
// that Save prints and Parse reads back unchanged.
func FuzzFakeRestore(f *testing.F) {
	base, err := os.ReadFile("../ipsave/testdata/ruleset.restore")
	if err != nil {
		f.Fatal(err)
	}
	addRestoreSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		fk := NewFake()
		if err := fk.Restore(ctx, base); err != nil {
			t.Fatal(err)
		}
		before := fk.Dump()
		if err := fk.Restore(ctx, data); err != nil {
			if !cmp.Equal(before, fk.Dump()) {
				t.Fatalf("failed Restore (%v) changed the tables (-before +after):\n%s", err, cmp.Diff(before, fk.Dump()))
			}
			return
		}
		for _, table := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
			saved, err := fk.Save(ctx, table, false)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ipsave.Parse(saved)
			if err != nil {
				t.Fatalf("Save output does not parse: %v\n%s", err, saved)
			}
			want := fk.Dump().Table(table)
			if !cmp.Equal(want, d.Table(table), ignorePos) {
				t.Fatalf("Save/Parse round trip of %s (-want +got):\n%s", table, cmp.Diff(want, d.Table(table), ignorePos))
			}
		}
	})
}

// FuzzTrace traces a fixed set of packets through whatever the fuzzer
// restores: the tracer may refuse a ruleset but must not panic, and the
// path probabilities of a trace must add up to one.
func FuzzTrace(f *testing.F) {
	addRestoreSeeds(f)
	packets := []iptrace.Packet{
		{Source: "10.244.2.9", Protocol: "tcp", Destination: "10.96.0.10", DestinationPort: 80},
		{Source: "192.168.10.5", Protocol: "udp", Destination: "10.96.0.11", DestinationPort: 53, Local: true, OutInterface: "eth0"},
		{Source: "203.0.113.7", Protocol: "sctp", Destination: "192.168.10.5", DestinationPort: 30080, InInterface: "eth0", OutInterface: "eth1"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ipsave.Parse(data)
		if err != nil {
			return
		}
		tr, err := iptrace.New(d, "192.168.10.5")
		if err != nil {
			t.Fatal(err)
		}
		tr.MaxPaths = 1000
		for _, p := range packets {
			res, err := tr.Trace(p)
			if err != nil {
				continue
			}
			sum := 0.0
			for _, path := range res.Paths {
				sum += path.Probability
			}
			if sum < 0.999999 || sum > 1.000001 {
				t.Fatalf("probabilities add up to %v:\n%s", sum, res)
			}
		}
	})
}

// ignorePos ignores where a rule was read from: a reprint moves every rule.
var ignorePos = cmpopts.IgnoreFields(ipsave.Rule{}, "Line", "Raw")
