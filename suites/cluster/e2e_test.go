//go:build e2e

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/suites/agent"
)

// TestE2E creates a 3-node cluster (SVCCHECK_E2E_PROXY, default svccheck)
// from the static binary SVCCHECK_BINARY, checks a ClusterIP Service from a
// pod and a NodePort Service from every node, checks every node's nat table
// belongs to the expected proxy, deletes the cluster and checks nothing of it
// is left. Run it with `make e2e`.
func TestE2E(t *testing.T) {
	bin := os.Getenv("SVCCHECK_BINARY")
	if bin == "" {
		t.Fatal("SVCCHECK_BINARY must name a static svccheck binary (make e2e sets it)")
	}
	// The cluster is named after this process, so a run killed before its
	// cleanup leaves a cluster the next run reaps instead of failing on.
	base := envOr("SVCCHECK_E2E_NAME", "svcchk-cl-e2e")
	name := leftover.Name(base, "")
	mode, err := proxy.ParseMode(envOr("SVCCHECK_E2E_PROXY", string(proxy.Svccheck)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	reapClusters(ctx, t, base)
	networksBefore := dockerLines(t, "network", "ls", "--format", "{{.Name}}")
	start := time.Now()
	c, err := Create(ctx, Options{Name: name, Workers: 2, Proxy: mode, NodeImage: os.Getenv("SVCCHECK_E2E_NODE_IMAGE"),
		Binary: bin, Progress: testWriter{t}})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Logf("FIGURE cluster create to all-ready: %s (proxy %s, node image %s)", time.Since(start).Round(time.Second), mode, c.NodeImage)
	deleted := false
	defer func() {
		if !deleted {
			if err := c.Delete(context.WithoutCancel(ctx)); err != nil {
				t.Errorf("Delete: %v", err)
			}
		}
	}()

	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 {
		t.Fatalf("got %d nodes, want 3", len(nodes))
	}
	clusterIP, nodePort := deployEchoService(ctx, t, c)
	waitEchoProgrammed(ctx, t, c, nodes, mode)
	checkClusterIPFromPod(ctx, t, c, clusterIP)
	checkNodePortFromNodes(ctx, t, nodes, nodePort)
	checkNATTables(ctx, t, nodes, mode)

	containers := dockerLines(t, "ps", "-a", "-q", "--filter", "label=io.x-k8s.kind.cluster="+name)
	volumes := dockerLines(t, append([]string{"inspect", "-f", "{{range .Mounts}}{{if .Name}}{{.Name}}\n{{end}}{{end}}"}, containers...)...)
	if err := c.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	deleted = true
	if left := dockerLines(t, "ps", "-a", "-q", "--filter", "label=io.x-k8s.kind.cluster="+name); len(left) > 0 {
		t.Errorf("containers of %s left after delete: %v", name, left)
	}
	// kind puts every cluster on its one "kind" network and keeps it, by
	// design; any other network the create made must be gone.
	for _, n := range dockerLines(t, "network", "ls", "--format", "{{.Name}}") {
		if n != "kind" && !contains(networksBefore, n) {
			t.Errorf("network %s, made while creating %s, left after delete", n, name)
		}
	}
	all := dockerLines(t, "volume", "ls", "-q")
	for _, v := range volumes {
		if contains(all, v) {
			t.Errorf("volume %s of cluster %s left after delete", v, name)
		}
	}
	t.Logf("checked %d containers and %d volumes of %s are gone", len(containers), len(volumes), name)
	if _, err := os.Stat(c.KubeconfigPath); !os.IsNotExist(err) {
		t.Errorf("kubeconfig %s left after delete", c.KubeconfigPath)
	}
}

const e2eNS = "default"

// deployEchoService runs two agent backends behind a NodePort Service and
// returns its ClusterIP address and node port.
func deployEchoService(ctx context.Context, t *testing.T, c *Cluster) (string, int32) {
	labels := map[string]string{"app": "svccheck-echo"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "svccheck-echo", Namespace: e2eNS},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{agentContainer(c.Image, "serve")}},
			},
		},
	}
	if _, err := c.Clientset.AppsV1().Deployments(e2eNS).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "svccheck-echo", Namespace: e2eNS},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: labels, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP},
		}},
	}
	got, err := c.Clientset.CoreV1().Services(e2eNS).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := c.Clientset.AppsV1().Deployments(e2eNS).Get(ctx, dep.Name, metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 2, nil
	})
	if err != nil {
		t.Fatalf("echo backends not Ready: %v%s", err, c.diagnoseNS(ctx, e2eNS, "app=svccheck-echo"))
	}
	return got.Spec.ClusterIP, got.Spec.Ports[0].NodePort
}

func agentContainer(image string, args ...string) corev1.Container {
	return corev1.Container{
		Name: "agent", Image: image, ImagePullPolicy: corev1.PullNever, Args: append([]string{"agent"}, args...),
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
	}
}

// echoDNATs counts, in a node's nat table, the DNAT rules of the echo
// Service's port.
func echoDNATs(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, `"default/svccheck-echo:http"`) && strings.Contains(l, "-j DNAT") {
			n++
		}
	}
	return n
}

// waitEchoProgrammed waits until the echo Service's EndpointSlices list
// both backends ready and, for the iptables proxies, until every node's
// nat table DNATs to both: the Deployment's two ready replicas alone do
// not mean the proxy has been told about them yet.
func waitEchoProgrammed(ctx context.Context, t *testing.T, c *Cluster, nodes []Node, mode proxy.Mode) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		slices, err := c.Clientset.DiscoveryV1().EndpointSlices(e2eNS).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=svccheck-echo"})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready++
				}
			}
		}
		if ready != 2 {
			return false, nil
		}
		if mode != proxy.Svccheck && mode != proxy.KubeProxy {
			return true, nil
		}
		for _, n := range nodes {
			lines, err := exec.OutputLines(n.Cmder.CommandContext(ctx, "iptables-save", "-t", "nat"))
			if err != nil || echoDNATs(lines) != 2 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the echo Service's two backends were not in its EndpointSlices and every node's rules within 2m: %v%s", err, c.diagnoseNS(ctx, e2eNS, "app=svccheck-echo"))
	}
}

// checkClusterIPFromPod probes the ClusterIP from a pod and wants every
// attempt answered, by both backends.
func checkClusterIPFromPod(ctx context.Context, t *testing.T, c *Cluster, clusterIP string) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "svccheck-client", Namespace: e2eNS},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "probe", Image: c.Image, ImagePullPolicy: corev1.PullNever,
			Args: []string{"agent", "probe", "--target", clusterIP + ":80", "--protocol", "http", "--count", "20", "--json"},
		}}},
	}
	if _, err := c.Clientset.CoreV1().Pods(e2eNS).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.Clientset.CoreV1().Pods(e2eNS).Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed), nil
	})
	if err != nil {
		t.Fatalf("client pod did not finish: %v%s", err, c.diagnoseNS(ctx, e2eNS, ""))
	}
	raw, err := c.Clientset.CoreV1().Pods(e2eNS).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, "pod -> ClusterIP "+clusterIP, raw, 2)
}

// checkNodePortFromNodes probes every node's node port from every node.
func checkNodePortFromNodes(ctx context.Context, t *testing.T, nodes []Node, nodePort int32) {
	for _, from := range nodes {
		for _, to := range nodes {
			target := fmt.Sprintf("%s:%d", to.InternalIP, nodePort)
			var out bytes.Buffer
			cmd := from.Cmder.CommandContext(ctx, NodeBinaryPath, "agent", "probe", "--target", target, "--protocol", "http", "--count", "10", "--json")
			if err := cmd.SetStdout(&out).Run(); err != nil {
				t.Errorf("probe from node %s: %v", from.Name, err)
				continue
			}
			checkReport(t, fmt.Sprintf("node %s -> NodePort %s", from.Name, target), out.Bytes(), 1)
		}
	}
}

// checkReport wants every attempt answered, by at least minBackends backends.
func checkReport(t *testing.T, what string, raw []byte, minBackends int) {
	t.Helper()
	var rep agent.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Errorf("%s: bad probe report %q: %v", what, raw, err)
		return
	}
	seen := map[string]int{}
	for _, a := range rep.Attempts {
		if !a.OK {
			t.Errorf("%s: attempt %d failed: %s %s", what, a.Seq, a.ErrorKind, a.Error)
			continue
		}
		seen[a.Hostname]++
	}
	if len(rep.Attempts) == 0 || len(seen) < minBackends {
		t.Errorf("%s: answered by %v over %d attempts, want at least %d backends", what, seen, len(rep.Attempts), minBackends)
	}
	t.Logf("%s: answered by %v", what, seen)
}

// checkNATTables wants svccheck's chains and no kube-proxy Service chains on
// every node for proxy.Svccheck, and the reverse for kube-proxy in iptables mode.
func checkNATTables(ctx context.Context, t *testing.T, nodes []Node, mode proxy.Mode) {
	for _, n := range nodes {
		lines, err := exec.OutputLines(n.Cmder.CommandContext(ctx, "iptables-save", "-t", "nat"))
		if err != nil {
			t.Errorf("iptables-save on %s: %v", n.Name, err)
			continue
		}
		dump := strings.Join(lines, "\n")
		hasOurs := strings.Contains(dump, ":SVCCHK")
		hasKube := strings.Contains(dump, ":KUBE-SVC-") || strings.Contains(dump, ":KUBE-SEP-")
		switch mode {
		case proxy.Svccheck:
			if !hasOurs || hasKube {
				t.Errorf("node %s nat table: SVCCHK chains %t (want true), KUBE-SVC/KUBE-SEP chains %t (want false)", n.Name, hasOurs, hasKube)
			}
		case proxy.KubeProxy:
			if hasOurs || !hasKube {
				t.Errorf("node %s nat table: SVCCHK chains %t (want false), KUBE-SVC/KUBE-SEP chains %t (want true)", n.Name, hasOurs, hasKube)
			}
		default:
			if hasOurs {
				t.Errorf("node %s nat table has SVCCHK chains under %s", n.Name, mode)
			}
			checkKubeProxyState(ctx, t, n, mode)
		}
	}
}

// checkKubeProxyState checks that kube-proxy in nftables or ipvs mode keeps
// its Services where that mode does: its own nftables table with the
// service-ips map, or the kube-ipvs0 dummy interface holding the cluster
// IPs.
func checkKubeProxyState(ctx context.Context, t *testing.T, n Node, mode proxy.Mode) {
	var args []string
	var want string
	switch mode {
	case proxy.KubeProxyNFTables:
		args, want = []string{"nft", "list", "table", "ip", "kube-proxy"}, "service-ips"
	case proxy.KubeProxyIPVS:
		args, want = []string{"ip", "-4", "addr", "show", "kube-ipvs0"}, "inet 10.96."
	default:
		t.Errorf("no check of kube-proxy's own state for %s", mode)
		return
	}
	lines, err := exec.CombinedOutputLines(n.Cmder.CommandContext(ctx, args[0], args[1:]...))
	out := strings.Join(lines, "\n")
	if err != nil || !strings.Contains(out, want) {
		t.Errorf("node %s under %s: %s: %v, want output with %q:\n%s", n.Name, mode, strings.Join(args, " "), err, want, out)
	}
}

// diagnoseNS is diagnose for another namespace; an empty selector takes
// every pod.
func (c *Cluster) diagnoseNS(ctx context.Context, ns, selector string) string {
	pods, err := c.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "\n" + err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "\n--- pod %s on %s: %s", p.Name, p.Spec.NodeName, p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, " %s ready=%t %s", cs.Name, cs.Ready, containerState(cs.State))
		}
		c.writeEvents(ctx, &b, p)
	}
	return b.String()
}

func dockerLines(t *testing.T, args ...string) []string {
	t.Helper()
	lines, err := exec.OutputLines(exec.Command("docker", args...))
	if err != nil {
		t.Fatalf("docker %v: %v", args, err)
	}
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// reapClusters deletes the clusters named base-<pid> of e2e runs that are
// gone.
func reapClusters(ctx context.Context, t *testing.T, base string) {
	t.Helper()
	p, err := newProvider(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names, err := p.List()
	if err != nil {
		t.Fatalf("listing kind clusters: %v", err)
	}
	reaped, err := leftover.ReapClusters(names, base, true, func(name string) error { return Delete(ctx, name, "") })
	if len(reaped) > 0 {
		t.Logf("deleted the clusters of e2e runs that are gone: %v", reaped)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
