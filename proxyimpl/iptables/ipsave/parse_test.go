package ipsave

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		name string
		args string
		want *Rule
	}{{
		name: "service dispatch",
		args: `-d 10.96.0.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-X`,
		want: &Rule{
			Destination: &AddrMatch{CIDR: "10.96.0.10/32"},
			Protocol:    &StringMatch{Value: "tcp"},
			Matches: []Match{
				&CommentMatch{Comment: "default/web:http cluster IP"},
				&PortMatch{Protocol: "tcp", DestinationPort: &PortRange{First: 80, Last: 80}},
			},
			Target: Target{Name: "SVCCHK-SVC-X"},
		},
	}, {
		name: "implicit tcp match, options after basic matches, bare address",
		args: `-m tcp -p TCP -d 10.96.0.1 --dport 443 ! --sport 1:1023 -j ACCEPT`,
		want: &Rule{
			Destination: &AddrMatch{CIDR: "10.96.0.1/32"},
			Protocol:    &StringMatch{Value: "tcp"},
			Matches: []Match{&PortMatch{Protocol: "tcp", DestinationPort: &PortRange{First: 443, Last: 443},
				SourcePort: &PortRange{Negate: true, First: 1, Last: 1023}}},
			Target: Target{Name: "ACCEPT"},
		},
	}, {
		name: "implicit udp match without -m",
		args: `-p udp --dport 53 -j DROP`,
		want: &Rule{
			Protocol: &StringMatch{Value: "udp"},
			Matches:  []Match{&PortMatch{Protocol: "udp", DestinationPort: &PortRange{First: 53, Last: 53}}},
			Target:   Target{Name: "DROP"},
		},
	}, {
		name: "negated source, interfaces, goto",
		args: `! -s 10.244.0.0/16 -i eth0 ! -o eth1+ -g SVCCHK-HAIRPIN`,
		want: &Rule{
			Source:       &AddrMatch{Negate: true, CIDR: "10.244.0.0/16"},
			InInterface:  &StringMatch{Value: "eth0"},
			OutInterface: &StringMatch{Negate: true, Value: "eth1+"},
			Target:       Target{Name: "SVCCHK-HAIRPIN", Goto: true},
		},
	}, {
		name: "mark match and or-mark",
		args: `-m mark ! --mark 0x4000/0x4000 -j MARK --or-mark 0x4000`,
		want: &Rule{
			Matches: []Match{&MarkMatch{Negate: true, Value: 0x4000, Mask: 0x4000}},
			Target:  Target{Name: "MARK", Mark: &MarkAction{Value: 0x4000, Mask: 0x4000}},
		},
	}, {
		name: "xor-mark normalised",
		args: `-j MARK --xor-mark 0x4000`,
		want: &Rule{Target: Target{Name: "MARK", Mark: &MarkAction{Value: 0x4000, Mask: 0}}},
	}, {
		name: "mark without mask",
		args: `-m mark --mark 0x1 -j RETURN`,
		want: &Rule{Matches: []Match{&MarkMatch{Value: 1, Mask: 0xffffffff}}, Target: Target{Name: "RETURN"}},
	}, {
		name: "addrtype and conntrack",
		args: `-m addrtype ! --src-type LOCAL --dst-type LOCAL -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
		want: &Rule{
			Matches: []Match{
				&AddrTypeMatch{SrcType: &AddrType{Negate: true, Type: "LOCAL"}, DstType: &AddrType{Type: "LOCAL"}},
				&ConntrackMatch{States: []string{"RELATED", "ESTABLISHED"}},
			},
			Target: Target{Name: "ACCEPT"},
		},
	}, {
		name: "statistic, recent and DNAT",
		args: `-m statistic --mode random --probability 0.33333333349 -m recent --name L --mask 255.255.255.255 --rsource --update --seconds 10800 --reap -j DNAT --to-destination 10.244.1.5:8080`,
		want: &Rule{
			Matches: []Match{
				&StatisticMatch{Mode: "random", Probability: 0.33333333349},
				&RecentMatch{Name: "L", Command: "update", Seconds: 10800, Reap: true, Mask: "255.255.255.255"},
			},
			Target: Target{Name: "DNAT", ToDestination: "10.244.1.5:8080"},
		},
	}, {
		name: "masquerade and reject",
		args: `-j MASQUERADE --random-fully`,
		want: &Rule{Target: Target{Name: "MASQUERADE", RandomFully: true}},
	}, {
		name: "unknown module and target options kept verbatim",
		args: `-p tcp -m multiport --dports 80,443 -m tcp --tcp-flags SYN,RST SYN -j LOG --log-prefix "x y"`,
		want: &Rule{
			Protocol: &StringMatch{Value: "tcp"},
			Matches: []Match{
				&UnknownMatch{Name: "multiport", Options: []string{"--dports", "80,443"}},
				&UnknownMatch{Name: "tcp", Options: []string{"--tcp-flags", "SYN,RST", "SYN"}},
			},
			Target: Target{Name: "LOG", Options: []string{"--log-prefix", "x y"}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			words, err := splitWords(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseRule(words...)
			if err != nil {
				t.Fatalf("ParseRule: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseRule (-want +got):\n%s", diff)
			}
			again, err := ParseRule(got.Args()...)
			if err != nil {
				t.Fatalf("reparsing %q: %v", got, err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("round trip of %q (-want +got):\n%s", got, diff)
			}
		})
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, args := range []string{
		`-s 10.0.0.300 -j ACCEPT`,
		`-j`,
		`-j A -j B`,
		`-d 1.2.3.4 -d 1.2.3.5`,
		`--dport 80 -j ACCEPT`,
		`-j DNAT`,
		`-j MARK`,
		`-j MARK --or-mark 0x1/0x1`,
		`-p tcp !`,
		`bogus`,
		`-c 1`,
	} {
		words, err := splitWords(args)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := ParseRule(words...); err == nil {
			t.Errorf("ParseRule(%s) = %q, want an error", args, r)
		}
	}
}

// stripComments drops "#" lines, as the parser does.
func stripComments(s string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "#") && l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// TestParseRealSave parses output captured from the real iptables-save
// (legacy and nft, with and without counters, see testdata/README) and
// checks that printing the model gives back exactly what the tool printed.
func TestParseRealSave(t *testing.T) {
	files, err := filepath.Glob("testdata/*.save")
	if err != nil || len(files) < 6 {
		t.Fatalf("want captured testdata/*.save files, got %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(stripComments(string(data)), d.String()); diff != "" {
				t.Errorf("printed dump differs from iptables-save output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRealSaveModel(t *testing.T) {
	data, err := os.ReadFile("testdata/nft.save")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	nat := d.Table("nat")
	if nat == nil {
		t.Fatal("no nat table")
	}
	var names []string
	for _, c := range nat.Chains {
		names = append(names, string(c.Name)+" "+c.Policy)
	}
	wantNames := []string{"PREROUTING ACCEPT", "INPUT ACCEPT", "OUTPUT ACCEPT", "POSTROUTING ACCEPT",
		"SVCCHK-EXT-ABCDEF0123456789 -", "SVCCHK-HAIRPIN -", "SVCCHK-MARK-MASQ -", "SVCCHK-NODEPORTS -",
		"SVCCHK-POSTROUTING -", "SVCCHK-SERVICES -", "SVCCHK-SVC-ABCDEF0123456789 -", "SVCCHK-SVC-LOCAL000000000000 -"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("nat chains (-want +got):\n%s", diff)
	}
	// The restore input said "--or-mark 0x4000", "-d 10.244.1.5" and put
	// -p after the matches; iptables-save normalised all three.
	tests := []struct {
		chain string
		idx   int
		want  *Rule
	}{{
		chain: "SVCCHK-MARK-MASQ", idx: 0,
		want: &Rule{Target: Target{Name: "MARK", Mark: &MarkAction{Value: 0x4000, Mask: 0x4000}}},
	}, {
		chain: "SVCCHK-HAIRPIN", idx: 0,
		want: &Rule{Source: &AddrMatch{CIDR: "10.244.1.5/32"}, Destination: &AddrMatch{CIDR: "10.244.1.5/32"},
			Target: Target{Name: "SVCCHK-MARK-MASQ"}},
	}, {
		chain: "SVCCHK-SVC-ABCDEF0123456789", idx: 2,
		want: &Rule{Protocol: &StringMatch{Value: "tcp"}, Matches: []Match{
			&RecentMatch{Name: "SVCCHK-SEP-AAAA", Command: "update", Seconds: 10800, Reap: true, Mask: "255.255.255.255"},
		}, Target: Target{Name: "DNAT", ToDestination: "10.244.1.5:8080"}},
	}, {
		chain: "SVCCHK-SVC-LOCAL000000000000", idx: 1,
		want: &Rule{Matches: []Match{&CommentMatch{Comment: `a "quoted" \ word`}},
			Target: Target{Name: "SVCCHK-HAIRPIN", Goto: true}},
	}}
	for _, tc := range tests {
		c := nat.Chain(ChainName(tc.chain))
		if c == nil || len(c.Rules) <= tc.idx {
			t.Errorf("chain %s has no rule %d", tc.chain, tc.idx)
			continue
		}
		if diff := cmp.Diff(tc.want, c.Rules[tc.idx], ignorePos); diff != "" {
			t.Errorf("%s rule %d (-want +got):\n%s", tc.chain, tc.idx, diff)
		}
	}
}

// TestParseUnknownExtensionTarget: Parse takes other programs' extension
// targets, while Apply (and so the Fake) refuses a jump to a missing chain.
func TestParseUnknownExtensionTarget(t *testing.T) {
	text := "*mangle\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -p udp -j DSCP --set-dscp 0x2e\nCOMMIT\n"
	d, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Rule{Protocol: &StringMatch{Value: "udp"}, Target: Target{Name: "DSCP", Options: []string{"--set-dscp", "0x2e"}}}
	if diff := cmp.Diff(want, d.Table("mangle").Chain("POSTROUTING").Rules[0], ignorePos); diff != "" {
		t.Errorf("rule (-want +got):\n%s", diff)
	}
	s, err := ParseScript([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Dump{}).Apply(s); err == nil || !strings.Contains(err.Error(), "missing chain DSCP") {
		t.Errorf("Apply error = %v, want a missing chain", err)
	}
}
