package iptrace

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// pathSummary is the part of a Path the table tests assert.
type pathSummary struct {
	Destination     string
	Verdict         Verdict
	Masquerade      bool
	DNAT            bool
	RulesBeforeDNAT int
	Probability     float64
	VerdictStep     string
}

func summarise(r *Result) []pathSummary {
	var out []pathSummary
	for _, p := range r.Paths {
		out = append(out, pathSummary{p.Destination, p.Verdict, p.Masquerade, p.DNAT, p.RulesBeforeDNAT,
			p.Probability, string(p.VerdictStep.Table) + " " + string(p.VerdictStep.Chain) + " #" +
				strconv.Itoa(p.VerdictStep.Rule)})
	}
	slices.SortFunc(out, func(a, b pathSummary) int { return strings.Compare(a.Destination, b.Destination) })
	return out
}

func loadDump(t *testing.T, file string) *ipsave.Dump {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ipsave.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTraceRealRuleset traces packets through ../ipsave/testdata/nft.save: the
// svccheck-shaped ruleset as the real iptables-save printed it. The node
// owns 192.168.10.5; pods live in 10.244.0.0/16.
func TestTraceRealRuleset(t *testing.T) {
	d := loadDump(t, "../ipsave/testdata/nft.save")
	third := 0.33333333349
	fwdAccept := "filter FORWARD #0"
	tests := []struct {
		name   string
		pkt    Packet
		recent []string
		want   []pathSummary
	}{{
		name: "pod to cluster IP spreads over three endpoints without masquerade",
		pkt:  Packet{Source: "10.244.2.9", Protocol: "tcp", Destination: "10.96.0.10", DestinationPort: 80},
		want: []pathSummary{
			{"10.244.1.5:8080", VerdictAccept, false, true, 5, third, fwdAccept},
			{"10.244.2.6:8080", VerdictAccept, false, true, 6, (1 - third) * 0.5, fwdAccept},
			{"10.244.3.7:8080", VerdictAccept, false, true, 7, (1 - third) * 0.5, fwdAccept},
		},
	}, {
		name:   "pod with client-IP affinity entry sticks to its endpoint",
		pkt:    Packet{Source: "10.244.2.9", Protocol: "tcp", Destination: "10.96.0.10", DestinationPort: 80},
		recent: []string{"SVCCHK-SEP-AAAA", "10.244.2.9"},
		want: []pathSummary{
			{"10.244.1.5:8080", VerdictAccept, false, true, 6, 1, fwdAccept},
		},
	}, {
		name: "host to cluster IP is masqueraded",
		pkt:  Packet{Source: "192.168.10.5", Protocol: "tcp", Destination: "10.96.0.10", DestinationPort: 80, Local: true, OutInterface: "eth0"},
		want: []pathSummary{
			{"10.244.1.5:8080", VerdictAccept, true, true, 6, third, "filter OUTPUT #0"},
			{"10.244.2.6:8080", VerdictAccept, true, true, 7, (1 - third) * 0.5, "filter OUTPUT #0"},
			{"10.244.3.7:8080", VerdictAccept, true, true, 8, (1 - third) * 0.5, "filter OUTPUT #0"},
		},
	}, {
		name: "external client to node port is masqueraded and accepted by the forward mark rule",
		pkt:  Packet{Source: "203.0.113.7", Protocol: "tcp", Destination: "192.168.10.5", DestinationPort: 30080},
		want: []pathSummary{
			{"10.244.1.5:8080", VerdictAccept, true, true, 14, third, "filter SVCCHK-FORWARD #2"},
			{"10.244.2.6:8080", VerdictAccept, true, true, 15, (1 - third) * 0.5, "filter SVCCHK-FORWARD #2"},
			{"10.244.3.7:8080", VerdictAccept, true, true, 16, (1 - third) * 0.5, "filter SVCCHK-FORWARD #2"},
		},
	}, {
		name: "service without endpoints is rejected",
		pkt:  Packet{Source: "10.244.2.9", Protocol: "tcp", Destination: "10.96.0.20", DestinationPort: 80},
		want: []pathSummary{{"10.96.0.20:80", VerdictReject, false, false, -1, 1, "filter SVCCHK-SERVICES #1"}},
	}, {
		name: "udp to the node's port 53 from outside is dropped on input",
		pkt:  Packet{Source: "203.0.113.7", Protocol: "udp", Destination: "192.168.10.5", DestinationPort: 53},
		want: []pathSummary{{"192.168.10.5:53", VerdictDrop, false, false, -1, 1, "filter SVCCHK-EXTERNAL-SERVICES #2"}},
	}, {
		name: "goto returns to the caller of the chain that jumped",
		pkt: Packet{Source: "10.1.2.3", SourcePort: 5000, Protocol: "udp", Destination: "10.96.0.11",
			DestinationPort: 53, InInterface: "eth0", OutInterface: "eth2"},
		want: []pathSummary{{"10.96.0.11:53", VerdictAccept, true, false, -1, 1, "filter SVCCHK-FORWARD #2"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(d, "192.168.10.5")
			if err != nil {
				t.Fatal(err)
			}
			if tc.recent != nil {
				if err := tr.AddRecent(tc.recent[0], tc.recent[1]); err != nil {
					t.Fatal(err)
				}
			}
			res, err := tr.Trace(tc.pkt)
			if err != nil {
				t.Fatalf("Trace: %v", err)
			}
			if diff := cmp.Diff(tc.want, summarise(res), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("paths (-want +got):\n%s\ntrace:\n%s", diff, res)
			}
			sum := 0.0
			for _, p := range res.Paths {
				sum += p.Probability
			}
			if sum < 0.999999 || sum > 1.000001 {
				t.Errorf("path probabilities sum to %v, want 1\n%s", sum, res)
			}
		})
	}
}

func TestTraceRecentSetAndTrace(t *testing.T) {
	d := loadDump(t, "../ipsave/testdata/nft.save")
	tr, err := New(d, "192.168.10.5")
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Trace(Packet{Source: "10.244.2.9", Protocol: "tcp", Destination: "10.96.0.10", DestinationPort: 80})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"10.244.1.5:8080", "10.244.2.6:8080", "10.244.3.7:8080"}, res.Endpoints()); diff != "" {
		t.Errorf("Endpoints (-want +got):\n%s", diff)
	}
	for _, p := range res.Paths {
		wantSet := []string(nil)
		if p.Destination == "10.244.1.5:8080" {
			wantSet = []string{"SVCCHK-SEP-AAAA"}
		}
		if diff := cmp.Diff(wantSet, p.RecentSet); diff != "" {
			t.Errorf("path to %s RecentSet (-want +got):\n%s", p.Destination, diff)
		}
		var steps []string
		var skipped []int
		for _, s := range p.Trace {
			if s.NoMatch {
				skipped = append(skipped, s.Rule)
				continue
			}
			steps = append(steps, string(s.Chain))
		}
		if p.Destination == "10.244.3.7:8080" {
			// The affinity checks that found no entry and the two
			// statistic branches not taken are recorded, unmatched.
			if diff := cmp.Diff([]int{2, 3, 4, 5}, skipped); diff != "" {
				t.Errorf("unmatched steps (-want +got):\n%s\n%s", diff, res)
			}
			// DNAT ends nat PREROUTING: no policy step there.
			want := []string{"PREROUTING", "SVCCHK-SERVICES", "SVCCHK-SVC-ABCDEF0123456789",
				"FORWARD", "FORWARD", "FORWARD", "POSTROUTING", "SVCCHK-POSTROUTING", "POSTROUTING"}
			if diff := cmp.Diff(want, steps); diff != "" {
				t.Errorf("trace chains (-want +got):\n%s\n%s", diff, res)
			}
		}
	}
}

func TestTraceSmallRulesets(t *testing.T) {
	tests := []struct {
		name    string
		rules   string
		pkt     Packet
		want    []pathSummary
		wantErr string
	}{{
		name: "return from a built-in chain applies its policy",
		rules: "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
			"-A INPUT -p udp -j RETURN\n-A INPUT -j ACCEPT\nCOMMIT\n",
		pkt:  Packet{Source: "1.1.1.1", Protocol: "udp", Destination: "127.0.0.1", DestinationPort: 5},
		want: []pathSummary{{"127.0.0.1:5", VerdictDrop, false, false, -1, 1, "filter INPUT #0"}},
	}, {
		name: "negated statistic and mark arithmetic",
		rules: "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
			"-A PREROUTING -j MARK --set-xmark 0x6/0xf\n" +
			"-A PREROUTING -m mark --mark 0x6/0xf -m statistic --mode random ! --probability 0.25 -p tcp -j DNAT --to-destination 10.0.0.2:80\n" +
			"-A PREROUTING -j DNAT --to-destination 10.0.0.3\nCOMMIT\n",
		pkt: Packet{Source: "1.1.1.1", Protocol: "tcp", Destination: "10.0.0.1", DestinationPort: 8},
		want: []pathSummary{
			{"10.0.0.2:80", VerdictAccept, false, true, 1, 0.75, "  #0"},
			{"10.0.0.3:8", VerdictAccept, false, true, 2, 0.25, "  #0"},
		},
	}, {
		name: "jump loop is an error",
		rules: "*nat\n:PREROUTING ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n" +
			"-A PREROUTING -j A\n-A B -j A\n-A A -j B\nCOMMIT\n",
		pkt:     Packet{Source: "1.1.1.1", Protocol: "tcp", Destination: "10.0.0.1", DestinationPort: 8},
		wantErr: "deeper than",
	}, {
		name:    "unknown match is an error, not a match",
		rules:   "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --dports 80,443 -j DROP\nCOMMIT\n",
		pkt:     Packet{Source: "1.1.1.1", Protocol: "tcp", Destination: "127.0.0.1", DestinationPort: 80},
		wantErr: "-m multiport --dports 80,443 is not supported",
	}, {
		name:    "unsupported address type is an error",
		rules:   "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m addrtype --dst-type BLACKHOLE -j RETURN\nCOMMIT\n",
		pkt:     Packet{Source: "1.1.1.1", Protocol: "tcp", Destination: "10.0.0.1", DestinationPort: 80},
		wantErr: "address type BLACKHOLE",
	}, {
		name:    "interface match without the packet's interface is an error",
		rules:   "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i eth0 -j RETURN\nCOMMIT\n",
		pkt:     Packet{Source: "1.1.1.1", Protocol: "tcp", Destination: "10.0.0.1", DestinationPort: 80},
		wantErr: "Packet.InInterface is not set",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ipsave.Parse([]byte(tc.rules))
			if err != nil {
				t.Fatal(err)
			}
			tr, err := New(d)
			if err != nil {
				t.Fatal(err)
			}
			res, err := tr.Trace(tc.pkt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Trace error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Trace: %v", err)
			}
			if diff := cmp.Diff(tc.want, summarise(res), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("paths (-want +got):\n%s\ntrace:\n%s", diff, res)
			}
		})
	}
}
