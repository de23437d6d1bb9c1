package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/svccheck/svccheck/proxyimpl"
	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// roleProxy re-executes the test binary as a Service proxy for one node,
// so a test can kill it with SIGKILL.
const roleProxy = "proxy"

// proxyChildSpec is the JSON argument of a proxy child.
type proxyChildSpec struct {
	NS      string // the node's network namespace
	Node    string
	NodeIP  netip.Addr
	Objects string // file of the API objects (proxyObjects as JSON)
	// HaltAfter, when not 0, makes the child apply only the first
	// HaltAfter transactions of its first restore holding more, counted
	// from the end when negative (-1: all but the last), then write
	// haltedLine and wait to be killed: a proxy killed between two
	// batches of a full sync.
	HaltAfter int
}

// proxyObjects are the API objects a proxy child serves from its fake API
// server.
type proxyObjects struct {
	Services []*v1.Service
	Slices   []*discoveryv1.EndpointSlice
	Nodes    []*v1.Node
}

// Lines a proxy child writes on stdout.
const (
	syncedLine = "synced"
	haltedLine = "halted"
)

// runProxyChild runs a proxy child (EnvChildArgs a proxyChildSpec) until
// ctx ends or it is killed.
func runProxyChild(ctx context.Context, stdout io.Writer) error {
	var spec proxyChildSpec
	if err := json.Unmarshal([]byte(os.Getenv(EnvChildArgs)), &spec); err != nil {
		return fmt.Errorf("decoding proxy spec: %w", err)
	}
	data, err := os.ReadFile(spec.Objects)
	if err != nil {
		return err
	}
	var objs proxyObjects
	if err := json.Unmarshal(data, &objs); err != nil {
		return fmt.Errorf("decoding %s: %w", spec.Objects, err)
	}
	var all []runtime.Object
	for _, o := range objs.Services {
		all = append(all, o)
	}
	for _, o := range objs.Slices {
		all = append(all, o)
	}
	for _, o := range objs.Nodes {
		all = append(all, o)
	}
	ipt := &haltingIPT{Interface: iptables.New(iptables.NetNSCmder(spec.NS), iptables.BackendNFT), after: spec.HaltAfter, out: stdout}
	p, err := proxyimpl.New(fake.NewClientset(all...), ipt, conntrack.NewInNamespace(filepath.Join("/run/netns", spec.NS)), proxyimpl.Config{
		NodeName:      spec.Node,
		NodeIPs:       []netip.Addr{spec.NodeIP},
		ClusterCIDRs:  []netip.Prefix{ClusterCIDR},
		MinSyncPeriod: 100 * time.Millisecond,
		SyncPeriod:    time.Hour,
	})
	if err != nil {
		return err
	}
	go func() {
		for gen := uint64(1); ; gen++ {
			if p.WaitForGeneration(ctx, gen) != nil {
				return
			}
			fmt.Fprintf(stdout, "%s %d\n", syncedLine, gen)
		}
	}()
	return p.Run(ctx)
}

// haltingIPT passes everything to a real runner, except that with after
// set it applies only part of the first multi-transaction restore and
// then blocks.
type haltingIPT struct {
	iptables.Interface
	after int
	out   io.Writer
}

// Restore implements iptables.Interface.
func (h *haltingIPT) Restore(ctx context.Context, data []byte) error {
	commits := bytes.Count(data, []byte("\nCOMMIT\n"))
	k := h.after
	if k < 0 {
		k += commits
	}
	if h.after == 0 || k <= 0 || k >= commits {
		return h.Interface.Restore(ctx, data)
	}
	cut := 0
	for range k {
		cut += bytes.Index(data[cut:], []byte("\nCOMMIT\n")) + len("\nCOMMIT\n")
	}
	if err := h.Interface.Restore(ctx, data[:cut]); err != nil {
		return err
	}
	fmt.Fprintf(h.out, "%s after transaction %d of %d\n", haltedLine, k, commits)
	select {} // until SIGKILL
}

// proxyChild is a running proxy child.
type proxyChild struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
	err   *lockedBuffer
}

// startProxyChild writes objs to a file and starts a proxy child for node
// n with them; it is killed at test end at the latest.
func startProxyChild(t *testing.T, n *Node, objs proxyObjects, haltAfter int) *proxyChild {
	t.Helper()
	data, err := json.Marshal(objs)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "objects.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	args, err := json.Marshal(proxyChildSpec{NS: n.NS, Node: n.Name, NodeIP: n.IP, Objects: file, HaltAfter: haltAfter})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &proxyChild{cmd: exec.Command(exe, "-test.run=^$"), lines: make(chan string, 100), done: make(chan struct{}), err: &lockedBuffer{}}
	c.cmd.Env = append(os.Environ(), EnvChild+"="+roleProxy, EnvChildArgs+"="+string(args))
	// Its own process group: SIGKILL takes its iptables-restore along,
	// as the end of a proxy's container does. It dies with the test.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.cmd.Stderr = c.err
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.kill)
	return c
}

// wait waits for a line of the child starting with prefix and returns it.
func (c *proxyChild) wait(t *testing.T, prefix string, budget time.Duration) string {
	t.Helper()
	timeout := time.After(budget)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("proxy child exited before %q: %s", prefix, c.err.String())
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q from the proxy child within %s: %s", prefix, budget, c.err.String())
		}
	}
}

// kill kills the child's process group with SIGKILL and waits for it.
func (c *proxyChild) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}
