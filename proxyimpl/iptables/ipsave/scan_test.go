package ipsave

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScan(t *testing.T) {
	text := "# Generated\n*nat\n:PREROUTING ACCEPT [1:2]\n:KUBE-SERVICES - [0:0]\n" +
		"[5:300] -A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.1/32 -j RETURN\nCOMMIT\n" +
		"*filter\n:INPUT DROP [0:0]\n-I INPUT 1 -j ACCEPT\nCOMMIT\n"
	var got []Line
	if err := Scan([]byte(text), func(l Line) error { got = append(got, l); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []Line{
		{Num: 2, Kind: LineTable, Table: "nat", Text: "*nat"},
		{Num: 3, Kind: LineChain, Table: "nat", Chain: "PREROUTING", Policy: "ACCEPT", Text: ":PREROUTING ACCEPT [1:2]"},
		{Num: 4, Kind: LineChain, Table: "nat", Chain: "KUBE-SERVICES", Policy: "-", Text: ":KUBE-SERVICES - [0:0]"},
		{Num: 5, Kind: LineRule, Table: "nat", Chain: "PREROUTING", Spec: "-j KUBE-SERVICES", Text: "[5:300] -A PREROUTING -j KUBE-SERVICES"},
		{Num: 6, Kind: LineRule, Table: "nat", Chain: "KUBE-SERVICES", Spec: "-d 10.96.0.1/32 -j RETURN", Text: "-A KUBE-SERVICES -d 10.96.0.1/32 -j RETURN"},
		{Num: 7, Kind: LineCommit, Table: "nat", Text: "COMMIT"},
		{Num: 8, Kind: LineTable, Table: "filter", Text: "*filter"},
		{Num: 9, Kind: LineChain, Table: "filter", Chain: "INPUT", Policy: "DROP", Text: ":INPUT DROP [0:0]"},
		{Num: 10, Kind: LineOther, Table: "filter", Text: "-I INPUT 1 -j ACCEPT"},
		{Num: 11, Kind: LineCommit, Table: "filter", Text: "COMMIT"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan (-want +got):\n%s", diff)
	}
	s := Summarize([]byte(text))
	if s.Rules != 2 || !s.HasChain("KUBE-SERVICES") || s.HasChain("KUBE-IPTABLES-HINT") {
		t.Errorf("Summarize = %+v", s)
	}
}
