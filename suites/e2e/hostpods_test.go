//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/svccheck/svccheck/suites/diag"
)

func init() {
	onKubeProxyNFTablesCluster = append(onKubeProxyNFTablesCluster, clusterCheck{name: "HostPodsAfterKill", run: checkHostPodsAfterKill})
}

// Host pods of a killed svccheck: the shortest --host-pod-lifetime dump
// takes, and how long after that the kubelet may take to end them.
const (
	hostPodLifetime = time.Minute
	deadlineMargin  = 30 * time.Second
)

// exitForced is the exit status of a second Ctrl-C (app.ExitForced).
const exitForced = 130

// Stderr lines of svccheck dump --kubeconfig: its host pods run once it
// dumps the nodes; the first interrupt is being handled once it says so.
const (
	dumpingNodes  = "dumping "
	interruptSeen = "interrupt again to quit at once"
)

var runIDLine = regexp.MustCompile(`run id ([0-9a-f]+)\)`)

// checkHostPodsAfterKill kills `svccheck dump --kubeconfig` while its host
// pods run, three times: with SIGKILL and no cleanup, the pods end by
// themselves at their deadline (DeadlineExceeded); with SIGKILL, then with
// a second Ctrl-C (which names the pods it leaves), `svccheck cleanup
// --run ID` removes them, and leaves the other runs' pods alone. It touches
// nothing but its own runs' namespaces, so it can share any cluster.
func checkHostPodsAfterKill(t *testing.T, ctx context.Context, name string) {
	kubeconfig := kubeconfigPath(t, name)
	cs := clientset(t, name)
	// The orphan's wait for its deadline goes on while the others run.
	orphan := killDump(t, kubeconfig, "orphan", signalAt{dumpingNodes, syscall.SIGKILL})
	t.Cleanup(func() { cleanupRun(t, context.Background(), kubeconfig, orphan.runID) })
	orphanPods := runningHostPods(t, ctx, cs, orphan.runID)

	killed := killDump(t, kubeconfig, "killed", signalAt{dumpingNodes, syscall.SIGKILL})
	runningHostPods(t, ctx, cs, killed.runID)
	cleanupRun(t, ctx, kubeconfig, killed.runID)

	forcedQuit(t, ctx, cs, kubeconfig)

	for _, p := range orphanPods {
		got, err := cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil || got.DeletionTimestamp != nil {
			t.Errorf("host pod %s/%s of run %s, which no cleanup named, is gone or going (%v)", p.Namespace, p.Name, orphan.runID, err)
		}
	}
	waitDeadline(t, ctx, cs, orphanPods)
}

// forcedQuit interrupts a dump twice while its host pods run: it must exit
// ExitForced naming the namespace and every pod it leaves, which `svccheck
// cleanup` then removes. The first interrupt starts deleting the pods; when
// that wins the race with the second, svccheck rightly exits without
// leaving anything, and the check tries again.
func forcedQuit(t *testing.T, ctx context.Context, cs kubernetes.Interface, kubeconfig string) {
	t.Helper()
	for try := 1; try <= 3; try++ {
		d := killDump(t, kubeconfig, fmt.Sprintf("forced-%d", try), signalAt{dumpingNodes, syscall.SIGINT}, signalAt{interruptSeen, syscall.SIGINT})
		pods, err := hostPodsLeft(ctx, cs, d.runID)
		if d.code != exitForced || err != nil {
			t.Logf("try %d: svccheck exited %d (want %d), host pods: %v: its deletion beat the second interrupt", try, d.code, exitForced, err)
			cleanupRun(t, ctx, kubeconfig, d.runID)
			continue
		}
		said := strings.Join(d.lines, "\n")
		for _, what := range append([]string{pods[0].Namespace}, podNames(pods)...) {
			if !strings.Contains(said, what) {
				t.Errorf("the forced quit does not name %s, which it leaves:\n%s", what, said)
			}
		}
		cleanupRun(t, ctx, kubeconfig, d.runID)
		return
	}
	t.Errorf("a second interrupt never came before svccheck deleted its host pods, in 3 tries")
}

// killedDump is a dump svccheck was killed in.
type killedDump struct {
	runID string
	code  int
	lines []string
}

// signalAt is a signal to send svccheck at the first stderr line holding
// marker.
type signalAt struct {
	marker string
	sig    syscall.Signal
}

func (s signalAt) String() string { return fmt.Sprintf("%s at %q", s.sig, s.marker) }

// killDump runs `svccheck dump --kubeconfig` with the shortest host pod
// lifetime, in a process group of its own, and sends the group each signal
// of steps, in turn, at the first stderr line holding its marker.
func killDump(t *testing.T, kubeconfig, sub string, steps ...signalAt) killedDump {
	t.Helper()
	args := []string{"dump", "--kubeconfig", kubeconfig, "--image", svccheckImage(t),
		"--host-pod-lifetime", hostPodLifetime.String(), "--output", outputDir(t, "hostpods-"+sub)}
	t.Logf("running %s %s; sending %v", binary, strings.Join(args, " "), steps)
	cmd := osexec.Command(binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout = os.Stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var d killedDump
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(os.Stderr, line)
		d.lines = append(d.lines, line)
		if m := runIDLine.FindStringSubmatch(line); m != nil && d.runID == "" {
			d.runID = m[1]
		}
		if len(steps) > 0 && strings.Contains(line, steps[0].marker) {
			if err := syscall.Kill(-cmd.Process.Pid, steps[0].sig); err != nil {
				t.Errorf("signalling svccheck: %v", err)
			}
			steps = steps[1:]
		}
	}
	_ = cmd.Wait()
	d.code = cmd.ProcessState.ExitCode()
	t.Logf("svccheck dump (run id %s) ended: %s", d.runID, cmd.ProcessState)
	if d.runID == "" {
		t.Fatal("svccheck dump printed no run id")
	}
	if len(steps) > 0 {
		t.Fatalf("svccheck dump ended before it printed %q", steps[0].marker)
	}
	return d
}

// runningHostPods returns the host pods of run runID: one per node, each
// running and not being deleted, or the kill came too late to prove
// anything.
func runningHostPods(t *testing.T, ctx context.Context, cs kubernetes.Interface, runID string) []corev1.Pod {
	t.Helper()
	pods, err := hostPodsLeft(ctx, cs, runID)
	if err != nil {
		t.Fatal(err)
	}
	return pods
}

// hostPodsLeft returns the host pods of run runID, or an error unless
// there is one per node, running and not being deleted.
func hostPodsLeft(ctx context.Context, cs kubernetes.Interface, runID string) ([]corev1.Pod, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: diag.LabelRunID + "=" + runID})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of run %s: %w", runID, err)
	}
	if len(pods.Items) != len(nodes.Items) {
		return nil, fmt.Errorf("run %s left %d host pods %v, want one on each of the %d nodes", runID, len(pods.Items), podNames(pods.Items), len(nodes.Items))
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			return nil, fmt.Errorf("host pod %s/%s of the killed run %s is %s (being deleted: %v), want running", p.Namespace, p.Name, runID, p.Status.Phase, p.DeletionTimestamp != nil)
		}
	}
	return pods.Items, nil
}

func podNames(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// cleanupRun runs `svccheck cleanup --run runID`, which must leave nothing
// labelled with the run id.
func cleanupRun(t *testing.T, ctx context.Context, kubeconfig, runID string) {
	t.Helper()
	if code := run(t, ctx, "cleanup", "--kubeconfig", kubeconfig, "--run", runID); code != 0 {
		t.Errorf("svccheck cleanup --run %s exited %d, want 0", runID, code)
	}
	checkNothingLeft(t, ctx, kubeconfig, runID)
}

// waitDeadline waits until every pod ended by its deadline: phase Failed,
// reason DeadlineExceeded, not before it started plus its
// activeDeadlineSeconds (hostPodLifetime) and at most deadlineMargin after.
func waitDeadline(t *testing.T, ctx context.Context, cs kubernetes.Interface, pods []corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		if p.Spec.ActiveDeadlineSeconds == nil || *p.Spec.ActiveDeadlineSeconds != int64(hostPodLifetime/time.Second) {
			t.Errorf("host pod %s/%s: activeDeadlineSeconds %v, want %d", p.Namespace, p.Name, p.Spec.ActiveDeadlineSeconds, int64(hostPodLifetime/time.Second))
			continue
		}
		deadline := p.Status.StartTime.Add(hostPodLifetime)
		for {
			got, err := cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("host pod %s/%s: %v", p.Namespace, p.Name, err)
			}
			now := time.Now()
			if got.Status.Phase != corev1.PodRunning {
				if got.Status.Phase != corev1.PodFailed || got.Status.Reason != "DeadlineExceeded" {
					t.Errorf("host pod %s/%s ended %s (reason %q: %s), want Failed, DeadlineExceeded", p.Namespace, p.Name, got.Status.Phase, got.Status.Reason, got.Status.Message)
				}
				if now.Before(deadline) {
					t.Errorf("host pod %s/%s ended %s before its deadline", p.Namespace, p.Name, deadline.Sub(now).Round(time.Second))
				}
				t.Logf("host pod %s/%s: %s, %s, seen %s after its deadline", p.Namespace, p.Name, got.Status.Phase, got.Status.Reason, now.Sub(deadline).Round(time.Second))
				break
			}
			if now.After(deadline.Add(deadlineMargin)) {
				t.Errorf("host pod %s/%s still runs %s after its deadline", p.Namespace, p.Name, now.Sub(deadline).Round(time.Second))
				break
			}
			time.Sleep(time.Second)
		}
	}
}
