package ipsave

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIndexAgreesWithParse checks that every chain of an index holds the
// policy and, parsed line by line, the rules Parse finds: for plain save
// output (scanned) and restore input (parsed whole, then indexed).
func TestIndexAgreesWithParse(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.save")
	more, _ := filepath.Glob("testdata/*.restore")
	inputs := map[string][]byte{
		"counters and comments": []byte("# x\n*nat\n:PREROUTING ACCEPT [3:4]\n:SVCCHK-A - [0:0]\n\n[1:2] -A PREROUTING -j SVCCHK-A\n-A SVCCHK-A -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT"),
		"insert and delete":     []byte("*nat\n:X - [0:0]\n-A X -j RETURN\n-I X 1 -p tcp --dport 1:2 -j RETURN\n-D X 2\nCOMMIT\n"),
	}
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	for name, data := range inputs {
		d, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: Parse: %v", name, err)
		}
		x, err := NewIndex(data)
		if err != nil {
			t.Fatalf("%s: NewIndex: %v", name, err)
		}
		if len(x.Tables) != len(d.Tables) {
			t.Errorf("%s: %d tables indexed, Parse finds %d", name, len(x.Tables), len(d.Tables))
		}
		for _, tbl := range d.Tables {
			xt := x.Table(tbl.Name)
			if xt == nil {
				t.Errorf("%s: table %s not indexed", name, tbl.Name)
				continue
			}
			for _, c := range tbl.Chains {
				policy, ok := xt.Policy(c.Name)
				if !ok || policy != c.Policy {
					t.Errorf("%s: %s %s policy %q (%v), Parse finds %q", name, tbl.Name, c.Name, policy, ok, c.Policy)
				}
				var rules []*Rule
				for _, l := range xt.Lines(c.Name) {
					r, err := ParseRuleLine(l)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					rules = append(rules, r)
				}
				if diff := cmp.Diff(c.Rules, rules); diff != "" {
					t.Errorf("%s: %s %s rules (-Parse +index):\n%s", name, tbl.Name, c.Name, diff)
				}
			}
		}
	}
}

func TestIndexRefusesWhatParseRefuses(t *testing.T) {
	for _, in := range []string{"*nat\n-A NOPE -j RETURN\nCOMMIT\n", "*nat\n:X - [0:0]\n", "*bogus\nCOMMIT\n", "-A X\n"} {
		if _, err := NewIndex([]byte(in)); err == nil {
			t.Errorf("NewIndex(%q) succeeded, Parse fails", in)
		}
	}
}
