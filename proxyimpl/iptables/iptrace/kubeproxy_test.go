package iptrace

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTraceKubeProxyRuleset traces packets through tables written by stock
// kube-proxy, whose KUBE-SEP chains DNAT with a bare "-m tcp".
func TestTraceKubeProxyRuleset(t *testing.T) {
	d := loadDump(t, "../ipsave/testdata/kube-proxy-nft.dump")
	tr, err := New(d, "172.18.0.3", "10.244.1.1")
	if err != nil {
		t.Fatal(err)
	}
	backends := []string{"10.244.1.13:8080", "10.244.2.35:8080", "10.244.2.36:8080"}
	tests := []struct {
		name           string
		pkt            Packet
		wantEndpoints  []string
		wantMasquerade bool
	}{
		{"pod to cluster IP", Packet{Source: "10.244.1.50", Protocol: "tcp", Destination: "10.96.80.232", DestinationPort: 80}, backends, false},
		{"node to cluster IP", Packet{Source: "172.18.0.3", Protocol: "tcp", Destination: "10.96.80.232", DestinationPort: 80, Local: true}, backends, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tr.Trace(tc.pkt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantEndpoints, res.Endpoints()); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s\n%s", diff, res)
			}
			for _, p := range res.Paths {
				if p.Masquerade != tc.wantMasquerade {
					t.Errorf("path to %s masqueraded = %v, want %v\n%s", p.Destination, p.Masquerade, tc.wantMasquerade, res)
				}
			}
		})
	}
}
