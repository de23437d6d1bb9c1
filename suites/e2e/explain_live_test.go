//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/explain"
	"github.com/svccheck/svccheck/suites/cluster"
)

func init() {
	onSvccheckCluster = append(onSvccheckCluster, clusterCheck{name: "ExplainLive",
		run: func(t *testing.T, ctx context.Context, name string) { checkExplainLive(t, ctx, name, false) }})
	onKubeProxyCluster = append(onKubeProxyCluster, clusterCheck{name: "ExplainLiveKubeProxy",
		run: func(t *testing.T, ctx context.Context, name string) { checkExplainLive(t, ctx, name, false) }})
	onKubeProxyNFTablesCluster = append(onKubeProxyNFTablesCluster, clusterCheck{name: "ExplainLiveNFTables",
		run: func(t *testing.T, ctx context.Context, name string) { checkExplainLive(t, ctx, name, true) }})
}

// checkExplainLive: `svccheck explain --live` for a ClusterIP Service with
// a backend on each of two workers, from a client pod and from a node,
// reports the kernel DNATing the first packet to one of the Service's
// endpoints; with iptables rules (svccheck's proxy, kube-proxy's iptables
// mode) the kernel's path agrees with a computed branch; in kube-proxy's
// nftables mode the kernel's path names the Service's chains. No trace
// rule or table is left on any node afterwards.
func checkExplainLive(t *testing.T, ctx context.Context, name string, nftables bool) {
	// Each explain --live takes a fresh dump of the node: 20 s on a quiet
	// machine, near 2 min on a loaded one.
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	w := newWebService(t, ctx, name, "svcchk-live")
	ns, nodes := w.ns, w.nodes
	var endpoints []string
	for _, ep := range w.endpoints {
		endpoints = append(endpoints, ep)
	}
	target := w.target
	for _, from := range [][]string{{"pod", ns + "/client"}, {"node", nodes[1].Name}} {
		t.Run("from "+from[0], func(t *testing.T) {
			ex := explainLive(t, ctx, name, target, from)
			checkKernelPath(t, ex, ns+"/web:http", endpoints, nftables)
		})
	}
	checkNoTraceRule(t, ctx, nodes)
}

// explainLive runs `svccheck explain --live --json` and returns what it
// printed.
func explainLive(t *testing.T, ctx context.Context, name, target string, from []string) *explain.Explanation {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, "explain", "--to", target, "--from", from[0], from[1], "--name", name, "--json", "--live")
	cmd.SetStdout(&out)
	cmd.SetStderr(&errOut)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("svccheck explain --live: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	t.Logf("explain --live from %s took %s", strings.Join(from, " "), time.Since(start).Round(100*time.Millisecond))
	var ex explain.Explanation
	if err := json.Unmarshal(out.Bytes(), &ex); err != nil {
		t.Fatalf("explain --json: %v\n%s", err, out.String())
	}
	if ex.Kernel == nil {
		t.Fatalf("explain --live printed no kernel path:\n%s", out.String())
	}
	return &ex
}

// checkKernelPath checks the kernel DNATed to an endpoint of port and,
// with iptables rules, agreed with a computed branch; in nftables mode,
// that its path names the Service port's chains.
func checkKernelPath(t *testing.T, ex *explain.Explanation, port string, endpoints []string, nftables bool) {
	t.Helper()
	k := ex.Kernel
	if !k.DNAT || !slices.Contains(endpoints, k.Destination) || k.Verdict != "ACCEPT" {
		t.Errorf("the kernel's path ends %s at %s (DNAT %v), want ACCEPT at one of %v", k.Verdict, k.Destination, k.DNAT, endpoints)
	}
	if !slices.Contains(k.Services, port) {
		t.Errorf("the kernel's path names Service ports %v, want %s among them", k.Services, port)
	}
	if nftables {
		if !ex.FromKernel || ex.Outcome != explain.OutcomeAccepted {
			t.Errorf("nftables mode: fromKernel %v, outcome %s; want the outcome accepted from the kernel's path", ex.FromKernel, ex.Outcome)
		}
		named := false
		for _, s := range k.Steps {
			named = named || s.Table == "ip kube-proxy" && strings.HasPrefix(s.Chain, "service-") && s.Service == port
		}
		if !named {
			t.Errorf("nftables mode: no step of the kernel's path is in kube-proxy's service chain of %s: %+v", port, k.Steps)
		}
		return
	}
	if k.Agrees == nil || !*k.Agrees {
		t.Errorf("the kernel's path does not agree with the computed one: %v", k.Differences)
	}
	if ex.Outcome != explain.OutcomeAccepted || ex.FromKernel {
		t.Errorf("computed outcome %s (fromKernel %v), want accepted from the iptables rules", ex.Outcome, ex.FromKernel)
	}
}

// checkNoTraceRule checks no node holds a trace rule or table of
// explain --live's.
func checkNoTraceRule(t *testing.T, ctx context.Context, nodes []cluster.Node) {
	t.Helper()
	for _, n := range nodes {
		lines, err := exec.OutputLines(n.Cmder.CommandContext(ctx, "sh", "-c",
			"iptables-save -t raw 2>/dev/null; nft list tables"))
		if err != nil {
			t.Fatalf("node %s: %v", n.Name, err)
		}
		for _, l := range lines {
			if strings.Contains(l, explain.TraceMarker) {
				t.Errorf("node %s still holds a trace rule: %s", n.Name, l)
			}
		}
	}
}
