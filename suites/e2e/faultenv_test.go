//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/svccheck/svccheck/suites/agent"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// faultEnv is what the fault checks share: a backend pod on the control
// plane, a Service in front of it, and a client pod on the first worker
// holding one connection through the Service. The second worker carries
// neither, so restarting it disturbs no end of the held connection.
type faultEnv struct {
	c      *cluster.Cluster
	cs     kubernetes.Interface
	ns     string
	cp     cluster.Node // the control plane: the backend
	w1, w2 cluster.Node // the client; the node the worker fault restarts
	holdIP string       // the held Service's cluster IP
	// backendIP is the backend pod's address, the one endpoint of every
	// Service the checks make.
	backendIP string
}

const (
	faultBackend = "backend"
	faultHolder  = "holder"
	faultPort    = 80
	// holdInterval is the pause between two exchanges over the held
	// connection, holdTimeout the longest an exchange may take and
	// maxHoldGap the longest pause between two exchanges that still counts
	// as the connection flowing. They are generous: on a loaded machine
	// (a load average of 100 on 2 cores was seen) an answer can take
	// seconds; a lost connection is a reset, or silence past holdTimeout.
	holdInterval = 500 * time.Millisecond
	holdTimeout  = 10 * time.Second
	maxHoldGap   = holdTimeout + 2*time.Second
	// apiRetry bounds the retries of a test's own API calls, which a
	// loaded or restarting API server may time out.
	apiRetry = 2 * time.Minute
)

// newFaultEnv sets up the shared pods and Service on cluster name and
// deletes their namespace at the end of t.
func newFaultEnv(t *testing.T, ctx context.Context, name string) *faultEnv {
	t.Helper()
	c, err := cluster.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureSvccheck(ctx, binary, io.Discard); err != nil {
		t.Fatal(err)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) < 3 || nodes[0].Role != "control-plane" || nodes[2].Role != "worker" {
		t.Fatalf("the fault checks need a control plane and two workers, have %v", nodes)
	}
	e := &faultEnv{c: c, cs: c.Clientset, cp: nodes[0], w1: nodes[1], w2: nodes[2]}
	e.ns, err = workload.CreateNamespace(ctx, e.cs, "faults")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := workload.DeleteNamespace(context.Background(), e.cs, e.ns); err != nil {
			t.Error(err)
		}
	})
	pods, err := workload.CreatePods(ctx, e.cs, e.ns, c.Image, 2*time.Minute,
		workload.Pod{Name: faultBackend, Node: e.cp.Name})
	if err != nil {
		t.Fatal(err)
	}
	e.backendIP = pods[0].Status.PodIP
	e.holdIP = e.createService(t, ctx, "held")
	e.waitServing(t, ctx, "held", e.holdIP, time.Minute, e.w1)
	e.startHolder(t, ctx)
	return e
}

// eventually retries f every second until it succeeds, within apiRetry.
func eventually(t *testing.T, ctx context.Context, what string, f func(ctx context.Context) error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, apiRetry, true, func(ctx context.Context) (bool, error) {
		last = f(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: %v (last: %v)", what, err, last)
	}
}

// createService creates a ClusterIP Service without a selector and its
// EndpointSlice, the backend ready in it, and returns its cluster IP. The
// test writes the EndpointSlice itself: the controller manager, which would
// write it for a selector, exits when it loses its lease while the API
// server is down and may take minutes to come back, and the faults are
// about the proxy, not about it.
func (e *faultEnv) createService(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	var ip string
	eventually(t, ctx, "creating Service "+name, func(ctx context.Context) error {
		svc, err := e.cs.CoreV1().Services(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			svc, err = workload.CreateService(ctx, e.cs, workload.Service(e.ns, name, corev1.ServiceTypeClusterIP,
				nil, workload.HTTPServicePort(faultPort)))
		}
		if err != nil {
			return err
		}
		ip = svc.Spec.ClusterIP
		return nil
	})
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: name,
			discoveryv1.LabelManagedBy:   "svccheck-e2e-faults",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{e.backendIP},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
			NodeName:   ptr.To(e.cp.Name),
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(workload.HTTPPort)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	eventually(t, ctx, "creating EndpointSlice "+name, func(ctx context.Context) error {
		_, err := e.cs.DiscoveryV1().EndpointSlices(e.ns).Create(ctx, slice, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	return ip
}

// startHolder runs `svccheck agent hold` through the held Service in a pod
// on the first worker, and waits for its first exchanges.
func (e *faultEnv) startHolder(t *testing.T, ctx context.Context) {
	t.Helper()
	pod := workload.AgentPod(e.ns, e.c.Image, workload.Pod{Name: faultHolder, Node: e.w1.Name})
	ctr := &pod.Spec.Containers[0]
	ctr.Command = []string{probe.Binary, "agent", "hold", "--target", net.JoinHostPort(e.holdIP, strconv.Itoa(faultPort)),
		"--interval", holdInterval.String(), "--timeout", holdTimeout.String()}
	ctr.Ports, ctr.ReadinessProbe = nil, nil
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	if _, err := e.cs.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := workload.WaitPodsReady(ctx, e.cs, e.ns, time.Minute, faultHolder); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * holdInterval)
	e.checkHeld(t, ctx, time.Time{})
}

// checkHeld checks the held connection is alive and has been since it was
// opened: the holder pod runs, every exchange over its one connection was
// answered by the backend, none paused longer than maxHoldGap, and the
// connection exchanged after since (a fault's end).
func (e *faultEnv) checkHeld(t *testing.T, ctx context.Context, since time.Time) {
	t.Helper()
	// The holder exchanges every holdInterval: give it the time to make
	// one after since before looking for it.
	if wait := time.Until(since.Add(2 * holdInterval)); !since.IsZero() && wait > 0 {
		time.Sleep(wait)
	}
	var pod *corev1.Pod
	var raw []byte
	eventually(t, ctx, "reading the holder pod and its log", func(ctx context.Context) error {
		var err error
		if pod, err = e.cs.CoreV1().Pods(e.ns).Get(ctx, faultHolder, metav1.GetOptions{}); err != nil {
			return err
		}
		raw, err = e.cs.CoreV1().Pods(e.ns).GetLogs(faultHolder, &corev1.PodLogOptions{}).DoRaw(ctx)
		return err
	})
	var exs []agent.Exchange
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var ex agent.Exchange
		if err := json.Unmarshal([]byte(line), &ex); err != nil {
			// The holder's own error message, after its last exchange.
			t.Errorf("holder: %s", line)
			continue
		}
		exs = append(exs, ex)
	}
	if pod.Status.Phase != corev1.PodRunning {
		t.Errorf("holder pod is %s, want Running: the held connection ended", pod.Status.Phase)
	}
	if len(exs) == 0 {
		t.Fatalf("no exchange in the holder's log: %s", raw)
	}
	var gap time.Duration
	for i, ex := range exs {
		if ex.Error != "" || ex.Hostname != faultBackend || ex.Local != exs[0].Local {
			t.Errorf("held connection: exchange %+v, want an answer from %s over %s", ex, faultBackend, exs[0].Local)
		}
		if i > 0 {
			gap = max(gap, ex.Time.Sub(exs[i-1].Time))
		}
	}
	if gap > maxHoldGap {
		t.Errorf("held connection: %s between two exchanges, want at most %s", gap, maxHoldGap)
	}
	last := exs[len(exs)-1]
	if !last.Time.After(since) {
		t.Errorf("held connection: last exchange at %s, none after %s", last.Time.Format(time.RFC3339Nano), since.Format(time.RFC3339Nano))
	}
	t.Logf("held connection %s -> %s:%d: %d exchanges over %s, longest pause %s",
		exs[0].Local, e.holdIP, faultPort, len(exs), last.Time.Sub(exs[0].Time).Round(time.Second), gap.Round(time.Millisecond))
}

// waitServing probes ip:faultPort from each of nodes (their own rules
// translate it) until the backend answers, within timeout, and returns when
// the last node first answered.
func (e *faultEnv) waitServing(t *testing.T, ctx context.Context, what, ip string, timeout time.Duration, nodes ...cluster.Node) time.Time {
	t.Helper()
	var done time.Time
	deadline := time.Now().Add(timeout)
	for _, n := range nodes {
		p := &probe.NodeProber{Name: n.Name, Cmder: n.Cmder}
		req := probe.Request{Target: net.JoinHostPort(ip, strconv.Itoa(faultPort)), Protocol: probe.HTTP, Timeout: time.Second}
		for {
			res, err := p.Probe(ctx, req)
			if err == nil && res.Count(probe.Answered) == 1 {
				done = time.Now()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Service %s (%s) not answering from node %s within %s: %v %v", what, ip, n.Name, timeout, res, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return done
}

// proxyRestarts returns the restart count of the proxy container on each
// node, and the pods' names.
func (e *faultEnv) proxyRestarts(t *testing.T, ctx context.Context) map[string]int32 {
	t.Helper()
	var pods *corev1.PodList
	eventually(t, ctx, "listing the proxy pods", func(ctx context.Context) error {
		var err error
		pods, err = e.cs.CoreV1().Pods(cluster.ProxyNamespace).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=" + cluster.ProxyName})
		return err
	})
	out := map[string]int32{}
	for _, p := range pods.Items {
		for _, s := range p.Status.ContainerStatuses {
			out[p.Spec.NodeName+" "+p.Name] += s.RestartCount
		}
	}
	return out
}

// nodeOutput runs a command on node n and returns its output.
func nodeOutput(ctx context.Context, n cluster.Node, name string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := n.Cmder.CommandContext(ctx, name, args...)
	cmd.SetStdout(&out)
	cmd.SetStderr(&out)
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("running %s %s on node %s: %w: %s", name, strings.Join(args, " "), n.Name, err, out.String())
	}
	return out.String(), nil
}

// proxyMetric returns the sum of the proxy's metric samples named name on
// node n (0 when it has none yet), read from its metrics port on the node's
// loopback.
func proxyMetric(t *testing.T, ctx context.Context, n cluster.Node, name string) float64 {
	t.Helper()
	out, err := nodeOutput(ctx, n, "curl", "-sf", "--max-time", "5", "http://127.0.0.1:10269/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && (f[0] == name || strings.HasPrefix(f[0], name+"{")) {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			sum += v
		}
	}
	return sum
}

// checkProxyHealthy checks every node's proxy answers 200 on /healthz.
func (e *faultEnv) checkProxyHealthy(t *testing.T, ctx context.Context) {
	t.Helper()
	for _, n := range []cluster.Node{e.cp, e.w1, e.w2} {
		out, err := nodeOutput(ctx, n, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
			fmt.Sprintf("http://127.0.0.1:%d/healthz", cluster.ProxyHealthzPort))
		if err != nil || out != "200" {
			t.Errorf("proxy /healthz on node %s: %q %v, want 200", n.Name, out, err)
		}
	}
}
