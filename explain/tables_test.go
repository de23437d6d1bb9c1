package explain

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExplainParsesOnlyWhatTheTraceReaches checks, on a table where other
// programs' rules come first, that a step's rule number and line are those
// of the whole table, and that a bad rule off the packet's path does not
// stop the explanation while one on it does.
func TestExplainParsesOnlyWhatTheTraceReaches(t *testing.T) {
	nat := `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
:SVCCHK-SERVICES - [0:0]
:SVCCHK-SVC-A - [0:0]
:SVCCHK-SVC-B - [0:0]
[0:0] -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
[0:0] -A PREROUTING -m comment --comment "unterminated -j ACCEPT
[0:0] -A PREROUTING -m comment --comment "svccheck service portals" -j SVCCHK-SERVICES
[0:0] -A DOCKER -m comment --comment "unterminated -j RETURN
[0:0] -A SVCCHK-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "ns/a:http cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-A
[0:0] -A SVCCHK-SERVICES -d 10.96.0.2/32 -p tcp -m comment --comment "ns/b:http cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-B
[0:0] -A SVCCHK-SVC-A -p tcp -m comment --comment "ns/a:http" -j DNAT --to-destination 10.244.1.1:8080
[0:0] -A SVCCHK-SVC-B -p tcp -m comment --comment "unterminated -j DNAT --to-destination 10.244.1.2:8080
COMMIT
`
	dir := t.TempDir()
	files := map[string]string{"iptables-nat.txt": nat, "iptables-filter.txt": "*filter\nCOMMIT\n",
		"ip-addr.txt": "2: eth0@if5: <UP>\n    inet 172.18.0.4/16 scope global eth0\n"}
	for f, text := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	node, err := ReadNode("n", dir)
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Kind: FromExternal, Addr: netip.MustParseAddr("192.0.2.9"), Node: "n"}
	ex, err := Explain(node, src, Target{Addr: netip.MustParseAddr("10.96.0.1"), Port: 80, Protocol: "tcp"})
	if err != nil {
		t.Fatalf("explaining the path through good rules: %v", err)
	}
	if len(ex.Paths) != 1 || len(ex.Paths[0].Steps) < 1 {
		t.Fatalf("paths %+v", ex.Paths)
	}
	first := ex.Paths[0].Steps[0]
	if first.Chain != "PREROUTING" || first.Rule != 3 || first.Line != 12 {
		t.Errorf("first step %s #%d line %d, want PREROUTING #3 line 12", first.Chain, first.Rule, first.Line)
	}
	if ex.Paths[0].Destination != "10.244.1.1:8080" {
		t.Errorf("destination %s, want 10.244.1.1:8080", ex.Paths[0].Destination)
	}
	_, err = Explain(node, src, Target{Addr: netip.MustParseAddr("10.96.0.2"), Port: 80, Protocol: "tcp"})
	if err == nil || !strings.Contains(err.Error(), "line 17") {
		t.Errorf("explaining the path through a bad rule: %v, want its parse error at line 17", err)
	}
}
