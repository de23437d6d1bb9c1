package app

import (
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"sync"
	"syscall"

	"github.com/svccheck/svccheck/suites/diag"
)

// leftovers tracks what a forced quit (a second interrupt) leaves behind:
// the child runs still going, which are passed the interrupt on, and the
// clusters and dump host pods this process or its children made and have
// not deleted yet, which are named so the user can delete them.
type leftovers struct {
	mu       sync.Mutex
	children map[int]bool              // process group ids of running child runs
	clusters map[string]bool           // kind cluster names
	hostPods map[*diag.HostPods]string // host pods -> the kubeconfig reaching them
	// containers are the client containers outside a cluster
	// (cluster.StartExternalClient) not removed yet.
	containers map[string]bool
}

// left is this process's leftovers.
var left = newLeftovers()

func newLeftovers() *leftovers {
	return &leftovers{children: map[int]bool{}, clusters: map[string]bool{}, hostPods: map[*diag.HostPods]string{}, containers: map[string]bool{}}
}

// addHostPods records that pods (reached with kubeconfig) may exist until
// removeHostPods.
func (l *leftovers) addHostPods(pods *diag.HostPods, kubeconfig string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hostPods[pods] = kubeconfig
}

func (l *leftovers) removeHostPods(pods *diag.HostPods) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hostPods, pods)
}

// addCluster records that cluster name exists (or is being made) and is
// deleted by this run; removeCluster that it is gone or is to stay.
func (l *leftovers) addCluster(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clusters[name] = true
}

func (l *leftovers) removeCluster(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.clusters, name)
}

// addContainer records that the client container name exists and is
// removed by this run; removeContainer that it is gone.
func (l *leftovers) addContainer(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.containers[name] = true
}

func (l *leftovers) removeContainer(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.containers, name)
}

// runChild runs cmd, which childCommand made (a process group of its own),
// recording it as running meanwhile.
func (l *leftovers) runChild(cmd *exec.Cmd) error {
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

// quit passes a forced quit on to the running child runs (their second
// interrupt makes them quit at once too) and says what stays behind.
func (l *leftovers) quit(stderr io.Writer) {
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
	for _, name := range slices.Sorted(maps.Keys(l.containers)) {
		fmt.Fprintf(stderr, "svccheck: left behind: client container %s (remove it with: docker rm -f %s)\n", name, name)
	}
}
