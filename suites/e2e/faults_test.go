//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/suites/cluster"
)

// The fault checks disturb the cluster (the API server, a node, the xtables
// lock): they run last on TestRun's cluster.
func init() {
	onSvccheckCluster = append(onSvccheckCluster, clusterCheck{name: "faults", run: checkFaults, disruptive: true})
}

// checkFaults runs each fault in turn over one held connection: the proxy
// recovers by itself, the connection lives through every fault, and a
// Service created during the fault (or right after it, while the API server
// is down) is programmed and answers.
func checkFaults(t *testing.T, ctx context.Context, name string) {
	e := newFaultEnv(t, ctx, name)
	t.Run("api-server-restart", func(t *testing.T) { faultAPIServer(t, ctx, e) })
	t.Run("worker-restart", func(t *testing.T) { faultWorker(t, ctx, e) })
	t.Run("xtables-lock-held", func(t *testing.T) { faultXtablesLock(t, ctx, e) })
}

// apiUp reports whether the API server answers /readyz.
func (e *faultEnv) apiUp(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := e.cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err == nil
}

// faultAPIServer stops the kube-apiserver container on the control plane
// (kubelet starts a new one) and creates a Service as soon as the API
// answers again: every node programs it.
func faultAPIServer(t *testing.T, ctx context.Context, e *faultEnv) {
	restarts := e.proxyRestarts(t, ctx)
	syncs := e.proxySyncs(t, ctx)
	// ctr is the control plane's only container CLI; kill the running
	// kube-apiserver task, as a crash would.
	const kill = `n=0; for id in $(ctr -n k8s.io c ls -q 'labels."io.kubernetes.container.name"==kube-apiserver'); do ` +
		`ctr -n k8s.io t kill -s SIGKILL "$id" 2>/dev/null && n=$((n+1)); done; echo $n`
	start := time.Now()
	out, err := nodeOutput(ctx, e.cp, "sh", "-c", kill)
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("killing kube-apiserver: killed %q, want 1 (%v)", out, err)
	}
	var down time.Time
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		if !e.apiUp(ctx) {
			down = time.Now()
			return false, nil
		}
		return !down.IsZero(), nil
	}); err != nil {
		t.Fatalf("the API server did not come back within 3m of being killed (seen down: %v): %v", !down.IsZero(), err)
	}
	back := time.Now()
	t.Logf("API server down from its kill until %s later", back.Sub(start).Round(100*time.Millisecond))
	ip := e.createService(t, ctx, "after-api")
	created := time.Now()
	done := e.waitServing(t, ctx, "after-api", ip, 2*time.Minute, e.cp, e.w1, e.w2)
	t.Logf("Service created %s after the API server came back answers from every node %s after its creation",
		created.Sub(back).Round(100*time.Millisecond), done.Sub(created).Round(100*time.Millisecond))
	e.checkHeld(t, ctx, back)
	e.checkProxyHealthy(t, ctx)
	if now := e.proxyRestarts(t, ctx); !maps.Equal(now, restarts) {
		t.Errorf("proxy restarts went from %v to %v: the proxy should ride out the API server's restart", restarts, now)
	}
	// A proxy resyncing in a loop while its watches fail would sync many
	// times a second; the outage and the one new Service take a few syncs.
	for node, before := range syncs {
		after := e.proxySyncs(t, ctx)[node]
		t.Logf("proxy on %s: %v syncs during the fault", node, after-before)
		if after-before > maxFaultSyncs {
			t.Errorf("proxy on %s synced %v times during the API server's restart, want at most %d", node, after-before, maxFaultSyncs)
		}
	}
}

// maxFaultSyncs is the most syncs a proxy may run through the API server
// fault: a few for the Services made around it, the periodic resync, and
// the retries of any that failed.
const maxFaultSyncs = 20

// proxySyncs returns the number of syncs (full and partial) each node's
// proxy ran so far.
func (e *faultEnv) proxySyncs(t *testing.T, ctx context.Context) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, n := range []cluster.Node{e.cp, e.w1, e.w2} {
		out[n.Name] = proxyMetric(t, ctx, n, "svccheck_proxy_sync_duration_seconds_count")
	}
	return out
}

// faultWorker restarts the second worker's container (docker stop, then
// docker start) and creates a Service while it is down: its proxy comes
// back, programs the Service, and its rules are whole.
func faultWorker(t *testing.T, ctx context.Context, e *faultEnv) {
	start := time.Now()
	if err := exec.CommandContext(ctx, "docker", "stop", e.w2.Name).Run(); err != nil {
		t.Fatalf("docker stop %s: %v", e.w2.Name, err)
	}
	stopped := time.Now()
	ip := e.createService(t, ctx, "while-down")
	if err := exec.CommandContext(ctx, "docker", "start", e.w2.Name).Run(); err != nil {
		t.Fatalf("docker start %s: %v", e.w2.Name, err)
	}
	started := time.Now()
	t.Logf("worker %s stopped in %s, down %s", e.w2.Name, stopped.Sub(start).Round(100*time.Millisecond), started.Sub(stopped).Round(100*time.Millisecond))
	e.waitProxyStartedAfter(t, ctx, e.w2.Name, stopped)
	ready := time.Now()
	// No CNI daemon runs on these nodes: give the restarted node its routes
	// to the other nodes' pods again.
	if err := e.c.RestorePodNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	routed := time.Now()
	done := e.waitServing(t, ctx, "while-down", ip, 2*time.Minute, e.w2)
	t.Logf("restarted worker: proxy ready %s after docker start, pod routes restored %s after; the Service made while it was down answers from it %s after docker start",
		ready.Sub(started).Round(100*time.Millisecond), routed.Sub(ready).Round(100*time.Millisecond), done.Sub(started).Round(100*time.Millisecond))
	e.waitServing(t, ctx, "while-down", ip, time.Minute, e.cp, e.w1)
	checkRulesWhole(t, ctx, e.w2, e.cp)
	e.checkHeld(t, ctx, done)
	e.checkProxyHealthy(t, ctx)
}

// waitProxyStartedAfter waits until the proxy pod on node runs a container
// started after t0 and is Ready.
func (e *faultEnv) waitProxyStartedAfter(t *testing.T, ctx context.Context, node string, t0 time.Time) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := e.cs.CoreV1().Pods(cluster.ProxyNamespace).List(ctx, metav1.ListOptions{
			LabelSelector: "k8s-app=" + cluster.ProxyName, FieldSelector: "spec.nodeName=" + node})
		if err != nil || len(pods.Items) != 1 {
			last = "listing the proxy pod: " + errString(err)
			return false, nil
		}
		p := pods.Items[0]
		for _, s := range p.Status.ContainerStatuses {
			if r := s.State.Running; r != nil && r.StartedAt.After(t0.Add(-time.Second)) && s.Ready {
				return true, nil
			}
			last = "proxy container " + s.State.String()
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the proxy on %s did not come back within 3m: %v (last: %s)", node, err, last)
	}
}

func errString(err error) string {
	if err == nil {
		return "not exactly one pod"
	}
	return err.Error()
}

// faultXtablesLock holds the xtables lock on the client's node for 10 s
// and creates a Service meanwhile: it is programmed there, the proxy did not
// restart, and if the proxy's iptables takes the lock (legacy), its sync
// failures show the wait.
func faultXtablesLock(t *testing.T, ctx context.Context, e *faultEnv) {
	const hold = 10 * time.Second
	n := e.w1
	restarts := e.proxyRestarts(t, ctx)
	failures := proxyMetric(t, ctx, n, "svccheck_proxy_sync_failures_total")
	version, err := nodeOutput(ctx, n, "iptables", "--version")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := nodeOutput(ctx, n, "flock", cluster.XTablesLock, "sleep", strconvSeconds(hold))
		held <- err
	}()
	// The lock is held once a non-blocking flock fails.
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := nodeOutput(ctx, n, "flock", "-n", cluster.XTablesLock, "true")
		return err != nil, nil
	}); err != nil {
		t.Fatalf("the xtables lock on %s was not taken: %v", n.Name, err)
	}
	locked := time.Now()
	ip := e.createService(t, ctx, "during-lock")
	created := time.Now()
	done := e.waitServing(t, ctx, "during-lock", ip, hold+time.Minute, n)
	if err := <-held; err != nil {
		t.Fatalf("holding the xtables lock: %v", err)
	}
	released := time.Now()
	if created.After(released) {
		t.Errorf("the Service was created %s after the lock was released, not during the hold", created.Sub(released))
	}
	t.Logf("%s: lock held %s; Service created during the hold answers from %s %s after the lock was taken (%s)",
		strings.TrimSpace(version), released.Sub(start).Round(100*time.Millisecond), n.Name,
		done.Sub(locked).Round(100*time.Millisecond), relative(done, released))
	after := proxyMetric(t, ctx, n, "svccheck_proxy_sync_failures_total")
	t.Logf("proxy sync failures on %s: %v before the hold, %v after", n.Name, failures, after)
	if strings.Contains(version, "legacy") && after == failures && done.After(released) {
		t.Errorf("iptables-legacy waited on the lock but the proxy's sync failures did not grow")
	}
	e.checkHeld(t, ctx, released)
	e.checkProxyHealthy(t, ctx)
	if now := e.proxyRestarts(t, ctx); !maps.Equal(now, restarts) {
		t.Errorf("proxy restarts went from %v to %v: the proxy should ride out a held lock", restarts, now)
	}
}

func strconvSeconds(d time.Duration) string { return strings.TrimSuffix(d.String(), "s") }

// relative says when t was against the lock's release.
func relative(t, released time.Time) string {
	if t.Before(released) {
		return released.Sub(t).Round(100*time.Millisecond).String() + " before the release"
	}
	return t.Sub(released).Round(100*time.Millisecond).String() + " after the release"
}

// checkRulesWhole checks svccheck's rules on node n: no svccheck rule
// twice in one chain, every SVCCHK- chain jumped to (none left over), and
// the same SVCCHK- chains as on node ref.
func checkRulesWhole(t *testing.T, ctx context.Context, n, ref cluster.Node) {
	t.Helper()
	var got, want, problems []string
	// Both proxies may still be syncing the last change: allow them 30 s.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		got, problems = proxyChains(t, ctx, n)
		want, _ = proxyChains(t, ctx, ref)
		if (len(problems) == 0 && slices.Equal(got, want)) || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Errorf("node %s: %s", n.Name, p)
	}
	if !slices.Equal(got, want) {
		t.Errorf("svccheck chains on %s %v, on %s %v", n.Name, got, ref.Name, want)
	}
	t.Logf("%d svccheck chains on %s (%d on %s)", len(got), n.Name, len(want), ref.Name)
}

// proxyChains reads node n's iptables-save and returns its svccheck chains
// as "table chain", sorted, and its problems: duplicated rules and chains
// nothing jumps to.
func proxyChains(t *testing.T, ctx context.Context, n cluster.Node) (chains, problems []string) {
	t.Helper()
	out, err := nodeOutput(ctx, n, "iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	var table string
	rules := map[string]int{}
	jumped := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
		case strings.HasPrefix(line, ":SVCCHK-"):
			chains = append(chains, table+" "+strings.Fields(line[1:])[0])
		case strings.HasPrefix(line, "-A ") && strings.Contains(line, "SVCCHK-"):
			rules[table+" "+line]++
			f := strings.Fields(line)
			for i, w := range f[:len(f)-1] {
				if w == "-j" || w == "-g" {
					jumped[table+" "+f[i+1]] = true
				}
			}
		}
	}
	for r, c := range rules {
		if c > 1 {
			problems = append(problems, fmt.Sprintf("rule %q %d times", r, c))
		}
	}
	for _, c := range chains {
		if !jumped[c] {
			problems = append(problems, "chain "+c+" left over: nothing jumps to it")
		}
	}
	slices.Sort(chains)
	slices.Sort(problems)
	return chains, problems
}
