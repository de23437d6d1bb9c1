package explain

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The recorded dumps: svcchk-shared (svccheck's proxy) and svcchk-kpshared
// (kube-proxy, iptables mode), each with Services web (80/tcp, 53/udp),
// sticky (ClientIP affinity), np (NodePort) and empty (no endpoints) in
// namespace svcchk-explain, endpoints web-a (on worker) and web-b (on
// worker2), and a client pod on worker.
type cluster struct {
	dir, worker, workerIP, client      string
	web, sticky, empty, nodePort, webA string
	webB                               string
}

var clusters = map[string]cluster{
	"svccheck": {dir: "testdata/shared", worker: "svcchk-shared-worker", workerIP: "172.18.0.4", client: "10.244.1.7",
		web: "10.96.57.92", sticky: "10.96.3.207", empty: "10.96.170.223", nodePort: "32315",
		webA: "10.244.1.6", webB: "10.244.2.3"},
	"kube-proxy": {dir: "testdata/kpshared", worker: "svcchk-kpshared-worker", workerIP: "172.18.0.7", client: "10.244.1.4",
		web: "10.96.186.35", sticky: "10.96.198.47", empty: "10.96.95.238", nodePort: "30701",
		webA: "10.244.1.3", webB: "10.244.2.2"},
}

// explainIn explains from a source of the recorded dump.
func explainIn(t *testing.T, c cluster, kind SourceKind, from, to string) *Explanation {
	t.Helper()
	dir := DumpDir(c.dir)
	src := Source{Kind: kind, Name: from, Node: c.worker}
	switch kind {
	case FromPod:
		ns, name, _ := strings.Cut(from, "/")
		addr, node, err := dir.Pod(ns, name)
		if err != nil {
			t.Fatal(err)
		}
		src.Addr, src.Node = netip.MustParseAddr(addr), node
	case FromExternal:
		src.Addr = netip.MustParseAddr(from)
	}
	node, err := dir.Node(src.Node)
	if err != nil {
		t.Fatal(err)
	}
	if kind == FromNode {
		src.Addr = netip.MustParseAddr(node.Addrs[0])
	}
	dst, err := ParseTarget(to)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := Explain(node, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// branches sums the paths up as "VERDICT dest masq p".
func branches(ex *Explanation) []string {
	var out []string
	for _, p := range ex.Paths {
		m := ""
		if p.Masquerade {
			m = " masquerade"
		}
		out = append(out, p.Verdict+" "+p.Destination+m+" "+strings.TrimRight(strings.TrimRight(
			strconvF(p.Probability), "0"), "."))
	}
	slices.Sort(out)
	return out
}

func strconvF(f float64) string { return strings.TrimSpace(fmtF(f)) }

func TestExplainRecordedDumps(t *testing.T) {
	for name, c := range clusters {
		tests := []struct {
			desc, to     string
			kind         SourceKind
			from         string
			wantOutcome  Outcome
			wantServices []string
			want         []string
		}{{
			desc: "cluster IP from a pod", kind: FromPod, from: "svcchk-explain/client", to: c.web + ":80",
			wantOutcome: OutcomeAccepted, wantServices: []string{"svcchk-explain/web:http"},
			want: []string{"ACCEPT " + c.webA + ":8080 0.5", "ACCEPT " + c.webB + ":8080 0.5"},
		}, {
			desc: "UDP port from the node", kind: FromNode, from: c.worker, to: c.web + ":53/udp",
			// The node's address is outside the cluster CIDR: masqueraded.
			wantOutcome: OutcomeAccepted, wantServices: []string{"svcchk-explain/web:dns"},
			want: []string{"ACCEPT " + c.webA + ":8081 masquerade 0.5", "ACCEPT " + c.webB + ":8081 masquerade 0.5"},
		}, {
			desc: "affinity Service", kind: FromPod, from: "svcchk-explain/client", to: c.sticky + ":80",
			wantOutcome: OutcomeAccepted, wantServices: []string{"svcchk-explain/sticky:http"},
			want: []string{"ACCEPT " + c.webA + ":8080 0.5", "ACCEPT " + c.webB + ":8080 0.5"},
		}, {
			desc: "node port from outside", kind: FromExternal, from: "172.18.0.1", to: c.workerIP + ":" + c.nodePort,
			wantOutcome: OutcomeAccepted, wantServices: []string{"svcchk-explain/np:http"},
			want: []string{"ACCEPT " + c.webA + ":8080 masquerade 0.5", "ACCEPT " + c.webB + ":8080 masquerade 0.5"},
		}, {
			desc: "no endpoints", kind: FromPod, from: "svcchk-explain/client", to: c.empty + ":80",
			wantOutcome: OutcomeRejected, wantServices: []string{"svcchk-explain/empty:http"},
			want: []string{"REJECT " + c.empty + ":80 1"},
		}, {
			desc: "no Service", kind: FromPod, from: "svcchk-explain/client", to: "10.96.99.99:80",
			wantOutcome: OutcomeNoService, want: []string{"ACCEPT 10.96.99.99:80 1"},
		}}
		for _, tc := range tests {
			t.Run(name+"/"+tc.desc, func(t *testing.T) {
				ex := explainIn(t, c, tc.kind, tc.from, tc.to)
				if ex.Outcome != tc.wantOutcome {
					t.Errorf("Outcome = %q, want %q", ex.Outcome, tc.wantOutcome)
				}
				if diff := cmp.Diff(tc.wantServices, ex.Services); diff != "" {
					t.Errorf("Services (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.want, branches(ex)); diff != "" {
					var b bytes.Buffer
					_ = WriteTree(&b, ex)
					t.Errorf("branches (-want +got):\n%s\n%s", diff, b.String())
				}
				for _, p := range ex.Paths {
					for _, s := range p.Steps {
						if s.Rule > 0 && (s.Line == 0 || s.File == "" || !strings.Contains(s.Text, "-A "+s.Chain+" ")) {
							t.Errorf("step without its place in the dump: %+v", s)
						}
					}
				}
			})
		}
	}
}

// TestExplainAffinity: a first connection to a ClientIP Service passes
// the affinity checks without an entry and records the client.
func TestExplainAffinity(t *testing.T) {
	for name, c := range clusters {
		ex := explainIn(t, c, FromPod, "svcchk-explain/client", c.sticky+":80")
		for _, p := range ex.Paths {
			if len(p.AffinitySet) != 1 {
				t.Errorf("%s: path to %s records affinity in %v, want one list", name, p.Destination, p.AffinitySet)
			}
			checks := 0
			for _, s := range p.Steps {
				if !s.Matched && strings.Contains(s.Note, "affinity: no entry") {
					checks++
				}
			}
			if checks == 0 {
				t.Errorf("%s: path to %s shows no affinity check", name, p.Destination)
			}
		}
	}
}

// TestWriteTreeGolden compares the tree of each recorded dump's affinity
// Service with testdata/*.tree (go test -update rewrites them).
func TestWriteTreeGolden(t *testing.T) {
	for name, c := range clusters {
		ex := explainIn(t, c, FromPod, "svcchk-explain/client", c.sticky+":80")
		var b bytes.Buffer
		if err := WriteTree(&b, ex); err != nil {
			t.Fatal(err)
		}
		file := "testdata/" + name + "-sticky.tree"
		if *update {
			if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), b.String()); diff != "" {
			t.Errorf("%s tree (-want +got):\n%s", name, diff)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "10.96.0.10:53/udp", want: "10.96.0.10:53/udp"},
		{in: "10.96.0.10:80", want: "10.96.0.10:80/tcp"},
		{in: "10.96.0.10:80/SCTP", want: "10.96.0.10:80/sctp"},
		{in: "10.96.0.10", err: "want IP:PORT"},
		{in: "10.96.0.10:80/icmp", err: "protocol must be"},
		{in: "[fd00::1]:80", err: "only IPv4"},
		{in: "10.96.0.10:0", err: "port 0"},
	} {
		got, err := ParseTarget(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseTarget(%q) error = %v, want one containing %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got.String() != tc.want):
			t.Errorf("ParseTarget(%q) = %v, %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestDumpDirErrors(t *testing.T) {
	dir := DumpDir("testdata/shared")
	if _, err := dir.Node("nope"); err == nil || !strings.Contains(err.Error(), "svcchk-shared-worker") {
		t.Errorf("Node(nope) error = %v, want one listing the nodes", err)
	}
	if _, _, err := dir.Pod("svcchk-explain", "nope"); err == nil || !strings.Contains(err.Error(), "no pod") {
		t.Errorf("Pod(nope) error = %v", err)
	}
	if _, _, err := dir.Pod("other", "x"); err == nil || !strings.Contains(err.Error(), "no pods of that namespace") {
		t.Errorf("Pod(other/x) error = %v", err)
	}
}

func fmtF(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }
