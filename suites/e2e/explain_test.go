//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/explain"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

func init() {
	onSvccheckCluster = append(onSvccheckCluster, clusterCheck{name: "ExplainMatchesProbes", run: checkExplainMatchesProbes})
	onKubeProxyCluster = append(onKubeProxyCluster, clusterCheck{name: "ExplainMatchesProbesKubeProxy", run: checkExplainMatchesProbes})
}

// checkExplainMatchesProbes: `svccheck explain --name` (a fresh dump of
// the cluster) names, for a ClusterIP Service with a backend on each of
// two workers, exactly the endpoints that real connections from a client
// pod reach.
func checkExplainMatchesProbes(t *testing.T, ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	w := newWebService(t, ctx, name, "svcchk-explain")
	c, cs, ns, target, hostIP := w.c, w.c.Clientset, w.ns, w.target, w.endpoints
	prober := &probe.PodProber{Config: c.RESTConfig, Client: cs, Namespace: ns, Pod: "client"}
	probed := probedEndpoints(t, ctx, prober, target, hostIP)

	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, "explain", "--to", target, "--from", "pod", ns+"/client", "--name", name, "--json")
	cmd.SetStdout(&out)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("svccheck explain: %v\n%s", err, out.String())
	}
	t.Logf("explain with a fresh dump took %s", time.Since(start).Round(time.Second))
	var ex explain.Explanation
	if err := json.Unmarshal(out.Bytes(), &ex); err != nil {
		t.Fatalf("explain --json: %v\n%s", err, out.String())
	}
	var explained []string
	for _, p := range ex.Paths {
		if p.Verdict == "ACCEPT" && p.DNAT && !slices.Contains(explained, p.Destination) {
			explained = append(explained, p.Destination)
		}
	}
	slices.Sort(explained)
	if ex.Outcome != explain.OutcomeAccepted || !slices.Equal(explained, probed) {
		t.Errorf("explain says %s to %v, real connections from the client reached %v", ex.Outcome, explained, probed)
	}
}

// webService is the explain checks' cluster: a ClusterIP Service "web"
// (port 80, named http) with a backend on each of two workers and a client
// pod beside the first, in a namespace of its own, deleted at the end of
// the test.
type webService struct {
	c     *cluster.Cluster
	nodes []cluster.Node
	ns    string
	// endpoints maps each backend pod's name to "podIP:8080".
	endpoints map[string]string
	// target is "clusterIP:80".
	target string
}

// newWebService makes a webService in a namespace named after prefix.
func newWebService(t *testing.T, ctx context.Context, name, prefix string) *webService {
	t.Helper()
	c, err := cluster.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	// The agent image is the one the suite's run loaded (of binary);
	// SVCCHECK_E2E_AGENT_IMAGE names another one a reused cluster holds.
	image := os.Getenv("SVCCHECK_E2E_AGENT_IMAGE")
	if image == "" {
		if image, err = cluster.ImageName(binary); err != nil {
			t.Fatal(err)
		}
	}
	nodes, err := c.Nodes(ctx)
	if err != nil || len(nodes) < 3 {
		t.Fatalf("want a control plane and two workers: %v, %v", nodes, err)
	}
	cs := c.Clientset
	ns, err := workload.CreateNamespace(ctx, cs, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = workload.DeleteNamespace(context.WithoutCancel(ctx), cs, ns) })
	web := map[string]string{"app": "web"}
	pods, err := workload.CreatePods(ctx, cs, ns, image, 90*time.Second,
		workload.Pod{Name: "web-a", Node: nodes[1].Name, Labels: web},
		workload.Pod{Name: "web-b", Node: nodes[2].Name, Labels: web},
		workload.Pod{Name: "client", Node: nodes[1].Name})
	if err != nil {
		t.Fatal(err)
	}
	endpoints := map[string]string{}
	for _, p := range pods {
		if p.Name != "client" {
			endpoints[p.Name] = net.JoinHostPort(p.Status.PodIP, "8080")
		}
	}
	svc, err := workload.CreateService(ctx, cs, workload.Service(ns, "web", corev1.ServiceTypeClusterIP, web, workload.HTTPServicePort(80)))
	if err != nil {
		t.Fatal(err)
	}
	if err := workload.WaitReadyEndpoints(ctx, cs, ns, "web", 2, time.Minute); err != nil {
		t.Fatal(err)
	}
	return &webService{c: c, nodes: nodes, ns: ns, endpoints: endpoints, target: net.JoinHostPort(svc.Spec.ClusterIP, "80")}
}

// probedEndpoints connects to target from prober until every backend has
// answered (or 40 attempts) and returns the backends that answered, as
// "podIP:8080", sorted.
func probedEndpoints(t *testing.T, ctx context.Context, prober probe.Prober, target string, hostIP map[string]string) []string {
	t.Helper()
	var seen []string
	for round := 0; round < 4 && len(seen) < 2; round++ {
		res, err := prober.Probe(ctx, probe.Request{Target: target, Protocol: probe.HTTP, Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res {
			if a.Hostname == "" {
				t.Logf("probe of %s from %s: %s %s", target, prober.Source(), a.Outcome, a.Error)
			}
			if ep, ok := hostIP[a.Hostname]; ok && !slices.Contains(seen, ep) {
				seen = append(seen, ep)
			}
		}
	}
	slices.Sort(seen)
	return seen
}
