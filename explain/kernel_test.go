package explain

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The recorded traces in testdata/live are real output of svccheck
// explain --live (the kernel path's "trace"): a ClusterIP Service
// svcchk-live-rec/web (port 80, unnamed, to 8080) with two endpoints, on
// svcchk-shared (svccheck's proxy, iptables-nft: xtables-monitor) and
// svcchk-kpnft (kube-proxy's nftables mode: nft monitor trace), traced
// from a client pod and from a worker node.

// stepLines sums a kernel path's steps up as "table chain verdict
// target".
func stepLines(k *KernelPath) []string {
	var out []string
	for _, s := range k.Steps {
		out = append(out, strings.TrimSpace(strings.Join([]string{s.Table, s.Chain, s.Verdict, s.Target}, " ")))
	}
	return out
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/live/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseKernelTrace(t *testing.T) {
	for _, tc := range []struct {
		file, target, own string
		tracer            Tracer
		want              KernelPath
		steps             []string
	}{{
		file: "svccheck-pod.xtables", tracer: XtablesMonitor, target: "10.96.221.103:80", own: "raw",
		// svccheck's comment of an unnamed port, "svcchk-live-rec/web",
		// names no port: explain's computed path names none either.
		want: KernelPath{Destination: "10.244.2.16:8080", DNAT: true, Verdict: "ACCEPT"},
		steps: []string{
			"nat PREROUTING JUMP SVCCHK-SERVICES",
			"nat SVCCHK-SERVICES JUMP SVCCHK-SVC-AWE2RCXBJMJDUXTK",
			"nat SVCCHK-SVC-AWE2RCXBJMJDUXTK ACCEPT",
			"filter FORWARD JUMP SVCCHK-FORWARD",
			"filter FORWARD JUMP SVCCHK-PROXY-FIREWALL",
			"filter FORWARD JUMP SVCCHK-EXTERNAL-SERVICES",
			"filter FORWARD JUMP SVCCHK-SERVICES",
			"filter FORWARD ACCEPT",
			"nat POSTROUTING JUMP SVCCHK-POSTROUTING",
			"nat SVCCHK-POSTROUTING JUMP SVCCHK-HAIRPIN",
			"nat SVCCHK-POSTROUTING RETURN",
			"nat POSTROUTING ACCEPT",
		},
	}, {
		file: "svccheck-node.xtables", tracer: XtablesMonitor, target: "10.96.221.103:80", own: "raw",
		want: KernelPath{Destination: "10.244.1.42:8080", DNAT: true, Masquerade: true, Verdict: "ACCEPT"},
		steps: []string{
			"nat OUTPUT JUMP SVCCHK-SERVICES",
			"nat SVCCHK-SERVICES JUMP SVCCHK-SVC-AWE2RCXBJMJDUXTK",
			"nat SVCCHK-SVC-AWE2RCXBJMJDUXTK JUMP SVCCHK-MARK-MASQ",
			"nat SVCCHK-MARK-MASQ CONTINUE",
			"nat SVCCHK-SVC-AWE2RCXBJMJDUXTK ACCEPT",
			"filter OUTPUT JUMP SVCCHK-PROXY-FIREWALL",
			"filter OUTPUT JUMP SVCCHK-SERVICES",
			"filter OUTPUT JUMP KUBE-FIREWALL",
			"filter OUTPUT ACCEPT",
			"nat POSTROUTING JUMP SVCCHK-POSTROUTING",
			"nat SVCCHK-POSTROUTING JUMP SVCCHK-HAIRPIN",
			"nat SVCCHK-POSTROUTING CONTINUE",
			"nat SVCCHK-POSTROUTING ACCEPT",
		},
	}, {
		file: "kpnft-pod.nft", tracer: NFTMonitor, target: "10.96.75.96:80", own: "ip svccheck-live-48123",
		want: KernelPath{Destination: "10.244.2.34:8080", DNAT: true, Verdict: "ACCEPT", Services: []string{"svcchk-live-rec/web:"}},
		steps: []string{
			"ip kube-proxy filter-prerouting-pre-dnat JUMP firewall-check",
			"ip kube-proxy filter-prerouting-pre-dnat ACCEPT",
			"ip kube-proxy nat-prerouting JUMP services",
			"ip kube-proxy services GOTO service-2NBPAQKM-svcchk-live-rec/web/tcp/",
			"ip kube-proxy service-2NBPAQKM-svcchk-live-rec/web/tcp/ ACCEPT",
			"ip kube-proxy filter-forward JUMP service-endpoints-check",
			"ip kube-proxy filter-forward JUMP cluster-ips-check",
			"ip kube-proxy filter-forward ACCEPT",
			"ip kube-proxy nat-postrouting JUMP masquerading",
			"ip kube-proxy nat-postrouting ACCEPT",
			"ip nat POSTROUTING ACCEPT",
		},
	}, {
		file: "kpnft-node.nft", tracer: NFTMonitor, target: "10.96.75.96:80", own: "ip svccheck-live-53303",
		want: KernelPath{Destination: "10.244.2.34:8080", DNAT: true, Masquerade: true, Verdict: "ACCEPT", Services: []string{"svcchk-live-rec/web:"}},
	}} {
		t.Run(tc.file, func(t *testing.T) {
			k, err := ParseKernelTrace(tc.tracer, readTestdata(t, tc.file), tc.target, tc.own)
			if err != nil {
				t.Fatal(err)
			}
			got := KernelPath{Destination: k.Destination, DNAT: k.DNAT, Masquerade: k.Masquerade, Verdict: k.Verdict, Services: k.Services}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kernel path (-want +got):\n%s", diff)
			}
			if tc.steps != nil {
				if diff := cmp.Diff(tc.steps, stepLines(k)); diff != "" {
					t.Errorf("steps (-want +got):\n%s", diff)
				}
			}
			for _, s := range k.Steps {
				if strings.Contains(s.Text, TraceMarker) || strings.Contains(s.Table, TraceMarker) {
					t.Errorf("the trace rule's own step is in the path: %+v", s)
				}
			}
		})
	}
}

// A later packet of the flow can reuse the first one's trace id (the
// kernel's id hashes the packet buffer): the first packet ends where
// the trace rule's table is passed again. Recorded with a trace rule
// without --syn, so the handshake's ACK was traced too.
const reusedID = `PACKET: 2 57fd55b0 OUT=eth0 SRC=172.18.0.3 DST=10.96.0.10 LEN=60 SPORT=47123 DPORT=53 SYN 
 TRACE: 2 57fd55b0 raw:OUTPUT:rule:0x2:CONTINUE  -4 -t raw -A OUTPUT -d 10.96.0.10/32 -p tcp -m tcp --sport 47123 --dport 53 -m comment --comment svccheck-live -j TRACE
 TRACE: 2 57fd55b0 raw:OUTPUT:policy:ACCEPT 
PACKET: 2 57fd55b0 OUT=eth0 SRC=172.18.0.3 DST=10.96.0.10 LEN=60 SPORT=47123 DPORT=53 SYN 
 TRACE: 2 57fd55b0 nat:OUTPUT:rule:0x20:JUMP:SVCCHK-SERVICES  -4 -t nat -A OUTPUT -m comment --comment "svccheck service portals" -j SVCCHK-SERVICES
 TRACE: 2 57fd55b0 nat:SVCCHK-SERVICES:rule:0x26:JUMP:SVCCHK-SVC-R32OLB4X65WJ2XEL  -4 -t nat -A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp --dport 53 -j SVCCHK-SVC-R32OLB4X65WJ2XEL
 TRACE: 2 57fd55b0 nat:SVCCHK-SVC-R32OLB4X65WJ2XEL:rule:0x33:ACCEPT  -4 -t nat -A SVCCHK-SVC-R32OLB4X65WJ2XEL -p tcp -m comment --comment "kube-system/kube-dns:dns-tcp" -j DNAT --to-destination 10.244.0.3:53
PACKET: 2 57fd55b0 OUT=eth0 SRC=172.18.0.3 DST=10.244.0.3 LEN=60 SPORT=47123 DPORT=53 SYN MARK=0x4000 
 TRACE: 2 57fd55b0 filter:OUTPUT:policy:ACCEPT 
PACKET: 2 201e5199 OUT=eth0 SRC=172.18.0.3 DST=10.96.0.10 LEN=52 SPORT=47123 DPORT=53 ACK 
 TRACE: 2 201e5199 raw:OUTPUT:policy:ACCEPT 
PACKET: 2 57fd55b0 OUT=eth0 SRC=172.18.0.3 DST=10.96.0.10 LEN=129 SPORT=47123 DPORT=53 ACK PSH 
 TRACE: 2 57fd55b0 raw:OUTPUT:policy:ACCEPT 
PACKET: 2 57fd55b0 OUT=eth0 SRC=172.18.0.3 DST=10.244.0.3 LEN=129 SPORT=47123 DPORT=53 ACK PSH 
 TRACE: 2 57fd55b0 filter:OUTPUT:rule:0x3:JUMP:KUBE-FIREWALL  -4 -t filter -A OUTPUT -j KUBE-FIREWALL
 TRACE: 2 57fd55b0 filter:OUTPUT:policy:ACCEPT 
`

func TestParseKernelTraceStopsAtTheNextPacket(t *testing.T) {
	k, err := ParseKernelTrace(XtablesMonitor, reusedID, "10.96.0.10:53", "raw")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"nat OUTPUT JUMP SVCCHK-SERVICES",
		"nat SVCCHK-SERVICES JUMP SVCCHK-SVC-R32OLB4X65WJ2XEL",
		"nat SVCCHK-SVC-R32OLB4X65WJ2XEL ACCEPT",
		"filter OUTPUT ACCEPT",
	}
	if diff := cmp.Diff(want, stepLines(k)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if k.Destination != "10.244.0.3:53" || !k.DNAT || k.Services[0] != "kube-system/kube-dns:dns-tcp" {
		t.Errorf("got %s (DNAT %v), Services %v; want DNAT to 10.244.0.3:53 for kube-system/kube-dns:dns-tcp", k.Destination, k.DNAT, k.Services)
	}
}

func TestParseKernelTraceFails(t *testing.T) {
	for name, text := range map[string]string{
		"nothing":            "",
		"own table only":     " TRACE: 2 1 raw:OUTPUT:policy:ACCEPT \n",
		"not a trace at all": "Error: Could not process rule: Operation not permitted\n",
	} {
		if k, err := ParseKernelTrace(XtablesMonitor, text, "10.96.0.10:53", "raw"); err == nil {
			t.Errorf("%s: got %+v, want an error", name, k)
		}
	}
}

// recordedPod is the computed explanation recorded with
// svccheck-pod.xtables (the same explain --live --json run).
func recordedPod(t *testing.T) (*Explanation, *KernelPath) {
	t.Helper()
	var ex Explanation
	if err := json.Unmarshal([]byte(readTestdata(t, "svccheck-pod.json")), &ex); err != nil {
		t.Fatal(err)
	}
	k, err := ParseKernelTrace(XtablesMonitor, readTestdata(t, "svccheck-pod.xtables"), "10.96.221.103:80", "raw")
	if err != nil {
		t.Fatal(err)
	}
	return &ex, k
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(ex *Explanation, k *KernelPath)
		want   []string
	}{
		{name: "agree", change: func(*Explanation, *KernelPath) {}},
		{name: "endpoint not computed", change: func(ex *Explanation, _ *KernelPath) { ex.Paths = ex.Paths[:1] },
			want: []string{"the kernel sent the packet to 10.244.2.16:8080; the computed branches end at 10.244.1.42:8080"}},
		{name: "dropped", change: func(_ *Explanation, k *KernelPath) { k.Verdict = "DROP" },
			want: []string{"verdict: computed ACCEPT, kernel DROP"}},
		{name: "other chain", change: func(_ *Explanation, k *KernelPath) {
			k.Steps[2].Chain = "SVCCHK-SVC-STALE"
		}, want: []string{
			"the kernel entered chain SVCCHK-SVC-STALE, the computed branch does not",
		}},
		{name: "DNAT chain never entered", change: func(ex *Explanation, _ *KernelPath) {
			for i := range ex.Paths[1].Steps {
				if strings.Contains(ex.Paths[1].Steps[i].Note, "DNAT to") {
					ex.Paths[1].Steps[i].Chain = "SVCCHK-SEP-OTHER"
				}
			}
		}, want: []string{
			"the computed branch DNATs in chain SVCCHK-SEP-OTHER, the kernel never entered it",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, k := recordedPod(t)
			tc.change(ex, k)
			Compare(ex, k)
			if k.Agrees == nil || *k.Agrees != (len(tc.want) == 0) {
				t.Errorf("agrees = %v, want %v", k.Agrees, len(tc.want) == 0)
			}
			if diff := cmp.Diff(tc.want, k.Differences); diff != "" {
				t.Errorf("differences (-want +got):\n%s", diff)
			}
		})
	}
}

// With no iptables proxy rule (kube-proxy's nftables mode), the Service
// ports and the outcome come from the kernel's path.
func TestApplyKernelNFTables(t *testing.T) {
	k, err := ParseKernelTrace(NFTMonitor, readTestdata(t, "kpnft-pod.nft"), "10.96.75.96:80", "ip svccheck-live-48123")
	if err != nil {
		t.Fatal(err)
	}
	ex := &Explanation{Outcome: OutcomeNoService, Paths: []Path{{Probability: 1, Destination: "10.96.75.96:80", Verdict: "ACCEPT"}}}
	ApplyKernel(ex, k)
	if !ex.FromKernel || ex.Outcome != OutcomeAccepted || k.Agrees != nil || !cmp.Equal(ex.Services, []string{"svcchk-live-rec/web:"}) {
		t.Errorf("got fromKernel %v, outcome %s, agrees %v, services %v; want the kernel's accepted path for svcchk-live-rec/web:",
			ex.FromKernel, ex.Outcome, k.Agrees, ex.Services)
	}
}
