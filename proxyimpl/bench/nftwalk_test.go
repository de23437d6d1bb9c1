package main

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

// TestWalkNFT walks first packets through a ruleset kube-proxy v1.37's
// nftables mode wrote for 20 Services (cluster CIDR 10.244.0.0/16): the
// filter hook's firewall check (a ct state match, a jump, one verdict map
// lookup that finds nothing), nat prerouting's jump, the services chain's
// masquerade-mark rule and its verdict map, then the Service chain's DNAT.
func TestWalkNFT(t *testing.T) {
	data, err := os.ReadFile("testdata/kube-proxy-nftables-20.json")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := parseNFT(data)
	if err != nil {
		t.Fatal(err)
	}
	node := []netip.Addr{netip.MustParseAddr("192.168.99.1")}
	for _, tc := range []struct {
		name, src, dst string
		port           uint16
		want           int
		wantErr        string
	}{
		{"pod to the last Service", "10.244.3.4", "10.96.0.20", 80, 5, ""},
		{"outside client to the first Service", "192.168.99.7", "10.96.0.1", 80, 5, ""},
		{"no such Service", "10.244.3.4", "10.96.0.77", 80, 0, "no rule DNATs it"},
		{"wrong port", "10.244.3.4", "10.96.0.20", 81, 0, "no rule DNATs it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := walkNFT(rs, nftPacket{src: netip.MustParseAddr(tc.src), dst: netip.MustParseAddr(tc.dst), dport: tc.port, local: node})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("walk = %d, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("walk = %d, %v; want %d rules before the DNAT", got, err, tc.want)
			}
		})
	}
}
