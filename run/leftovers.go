package run

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/svccheck/svccheck/suites/diag"
)

// Leftovers tracks what a forced quit (a second interrupt) leaves behind:
// the child runs still going, which are passed the interrupt on, and the
// clusters and dump host pods this process or its children made and have
// not deleted yet, which are named so the user can delete them. One
// process shares one between its runs and the signal handler that calls
// Quit. It is safe for concurrent use.
type Leftovers struct {
	mu       sync.Mutex
	children map[int]bool              // process group ids of running child runs
	clusters map[string]bool           // kind cluster names
	hostPods map[*diag.HostPods]string // host pods -> the kubeconfig reaching them
	// containers are the client containers outside a cluster
	// (cluster.StartExternalClient) not removed yet.
	containers map[string]bool
	// runs are the runs against a cluster reached through its kubeconfig,
	// whose namespaces a forced quit lists by run id.
	runs []kubeconfigRun
}

// kubeconfigRun is a run against any cluster: what a forced quit needs to
// name what it leaves there.
type kubeconfigRun struct {
	clientset  kubernetes.Interface
	kubeconfig string
	runID      string
	hostPods   *diag.HostPods
}

// AddRun records a run against the cluster cs reaches through kubeconfig:
// a forced quit lists the namespaces labelled with its run id.
func (l *Leftovers) AddRun(cs kubernetes.Interface, kubeconfig, runID string, pods *diag.HostPods) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, kubeconfigRun{clientset: cs, kubeconfig: kubeconfig, runID: runID, hostPods: pods})
}

// quitListTimeout bounds listing a run's namespaces at a forced quit.
const quitListTimeout = 5 * time.Second

// cleanupCommand is the command that removes what run runID left on the
// cluster of kubeconfig.
func cleanupCommand(kubeconfig, runID string) string {
	return fmt.Sprintf("svccheck cleanup --kubeconfig %s --run %s", kubeconfig, runID)
}

// leftBehind says what run r leaves on its cluster: the namespaces
// labelled with its run id (the spec namespaces and the host pods'), read
// from the API server, or what this process knows when that fails.
func (r kubeconfigRun) leftBehind() string {
	ctx, cancel := context.WithTimeout(context.Background(), quitListTimeout)
	defer cancel()
	cleanup := cleanupCommand(r.kubeconfig, r.runID)
	list, err := r.clientset.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: diag.LabelRunID + "=" + r.runID})
	if err != nil {
		what := fmt.Sprintf("svccheck: run %s may leave namespaces labelled %s=%s (listing them failed: %v)", r.runID, diag.LabelRunID, r.runID, err)
		if hp := r.hostPods.LeftBehind(); hp != "" {
			what += "; " + hp
		}
		return what + fmt.Sprintf(" (remove them with: %s)\n", cleanup)
	}
	var names []string
	for _, ns := range list.Items {
		if ns.DeletionTimestamp == nil {
			names = append(names, ns.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return fmt.Sprintf("svccheck: left behind: namespaces %s, labelled %s=%s (remove them with: %s)\n",
		strings.Join(names, ", "), diag.LabelRunID, r.runID, cleanup)
}

// NewLeftovers returns a tracker with nothing to leave behind.
func NewLeftovers() *Leftovers {
	return &Leftovers{children: map[int]bool{}, clusters: map[string]bool{}, hostPods: map[*diag.HostPods]string{}, containers: map[string]bool{}}
}

// AddHostPods records that pods (reached with kubeconfig) may exist until
// RemoveHostPods.
func (l *Leftovers) AddHostPods(pods *diag.HostPods, kubeconfig string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hostPods[pods] = kubeconfig
}

// RemoveHostPods records that pods are gone.
func (l *Leftovers) RemoveHostPods(pods *diag.HostPods) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hostPods, pods)
}

// AddCluster records that cluster name exists (or is being made) and is
// deleted by this run.
func (l *Leftovers) AddCluster(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clusters[name] = true
}

// RemoveCluster records that cluster name is gone or is to stay.
func (l *Leftovers) RemoveCluster(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.clusters, name)
}

// AddContainer records that the client container name exists and is
// removed by this run.
func (l *Leftovers) AddContainer(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.containers[name] = true
}

// RemoveContainer records that the client container name is gone.
func (l *Leftovers) RemoveContainer(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.containers, name)
}

// RunChild runs cmd, which childCommand made (a process group of its own),
// recording it as running meanwhile.
func (l *Leftovers) RunChild(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	l.mu.Lock()
	l.children[pid] = true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.children, pid)
		l.mu.Unlock()
	}()
	return cmd.Wait()
}

// Quit passes a forced quit on to the running child runs (their second
// interrupt makes them quit at once too) and says what stays behind.
func (l *Leftovers) Quit(stderr io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for pid := range l.children {
		_ = syscall.Kill(-pid, syscall.SIGINT)
	}
	names := make([]string, 0, len(l.clusters))
	for name := range l.clusters {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(stderr, "svccheck: left behind: kind cluster %s (delete it with: svccheck cluster delete --name %s)\n", name, name)
	}
	var pods []string
	for p, kubeconfig := range l.hostPods {
		if what := p.LeftBehind(); what != "" {
			pods = append(pods, fmt.Sprintf("svccheck: left behind: %s (delete them with: %s)\n", what, p.DeleteCommand(kubeconfig)))
		}
	}
	slices.Sort(pods)
	for _, line := range pods {
		fmt.Fprint(stderr, line)
	}
	for _, r := range l.runs {
		fmt.Fprint(stderr, r.leftBehind())
	}
	for _, name := range slices.Sorted(maps.Keys(l.containers)) {
		fmt.Fprintf(stderr, "svccheck: left behind: client container %s (remove it with: docker rm -f %s)\n", name, name)
	}
}
