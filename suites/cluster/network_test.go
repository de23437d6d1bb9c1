package cluster

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"
)

// recordingCmder records the commands it is asked to run and what they read
// from stdin; a command line starting with failOn fails.
type recordingCmder struct {
	calls  []string
	stdin  map[string]string
	failOn string
}

var _ exec.Cmder = (*recordingCmder)(nil)

func (r *recordingCmder) Command(name string, args ...string) exec.Cmd {
	return r.CommandContext(context.Background(), name, args...)
}

func (r *recordingCmder) CommandContext(_ context.Context, name string, args ...string) exec.Cmd {
	return &recordingCmd{r: r, line: strings.Join(append([]string{name}, args...), " ")}
}

type recordingCmd struct {
	r      *recordingCmder
	line   string
	stdin  io.Reader
	stderr io.Writer
}

func (c *recordingCmd) Run() error {
	c.r.calls = append(c.r.calls, c.line)
	if c.stdin != nil {
		b, _ := io.ReadAll(c.stdin)
		if c.r.stdin == nil {
			c.r.stdin = map[string]string{}
		}
		c.r.stdin[c.line] = string(b)
	}
	if c.r.failOn != "" && strings.HasPrefix(c.line, c.r.failOn) {
		io.WriteString(c.stderr, "RTNETLINK answers: Network is unreachable")
		return &exec.RunError{Command: strings.Fields(c.line), Inner: io.ErrUnexpectedEOF}
	}
	return nil
}

func (c *recordingCmd) SetEnv(...string) exec.Cmd      { return c }
func (c *recordingCmd) SetStdin(r io.Reader) exec.Cmd  { c.stdin = r; return c }
func (c *recordingCmd) SetStdout(io.Writer) exec.Cmd   { return c }
func (c *recordingCmd) SetStderr(w io.Writer) exec.Cmd { c.stderr = w; return c }

func TestConfigurePodNetwork(t *testing.T) {
	fake := &recordingCmder{}
	nodes := []Node{
		{Name: "cp", InternalIP: "172.18.0.2", PodCIDR: "10.244.0.0/24", Cmder: fake},
		{Name: "w1", InternalIP: "172.18.0.3", PodCIDR: "10.244.1.0/24"},
	}
	if err := configurePodNetwork(context.Background(), nodes[0], nodes); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mkdir -p /etc/cni/net.d",
		"cp /dev/stdin /etc/cni/net.d/10-svccheck.conflist.svccheck-tmp",
		"chmod 644 /etc/cni/net.d/10-svccheck.conflist.svccheck-tmp",
		"mv -f /etc/cni/net.d/10-svccheck.conflist.svccheck-tmp /etc/cni/net.d/10-svccheck.conflist",
		"ip route replace 10.244.1.0/24 via 172.18.0.3",
	}
	if diff := cmp.Diff(want, fake.calls); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	conf, _ := cniConflist("10.244.0.0/24")
	if got := fake.stdin[want[1]]; got != conf {
		t.Errorf("conflist written = %q, want %q", got, conf)
	}
}

func TestConfigurePodNetworkError(t *testing.T) {
	fake := &recordingCmder{failOn: "ip route"}
	nodes := []Node{
		{Name: "cp", InternalIP: "172.18.0.2", PodCIDR: "10.244.0.0/24", Cmder: fake},
		{Name: "w1", InternalIP: "172.18.0.3", PodCIDR: "10.244.1.0/24"},
	}
	err := configurePodNetwork(context.Background(), nodes[0], nodes)
	if err == nil {
		t.Fatal("configurePodNetwork succeeded with a failing ip route")
	}
	for _, want := range []string{"node cp", "ip route replace 10.244.1.0/24 via 172.18.0.3", "Network is unreachable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestWriteNodeFileMode(t *testing.T) {
	fake := &recordingCmder{}
	if err := writeNodeFile(context.Background(), fake, NodeBinaryPath, bytes.NewReader([]byte("bin")), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := fake.calls[2]; got != "chmod 755 /usr/local/bin/svccheck.svccheck-tmp" {
		t.Errorf("chmod call = %q", got)
	}
}

func TestPodCIDRsAssigned(t *testing.T) {
	for _, tc := range []struct {
		name   string
		nodes  []Node
		want   bool
		status string
	}{
		{name: "no nodes", status: "no nodes found"},
		{name: "all assigned", want: true, nodes: []Node{
			{Name: "demo-control-plane", PodCIDR: "10.244.0.0/24"}, {Name: "demo-worker", PodCIDR: "10.244.1.0/24"}}},
		{name: "some missing", nodes: []Node{
			{Name: "demo-control-plane", PodCIDR: "10.244.0.0/24"}, {Name: "demo-worker"}, {Name: "demo-worker2"}},
			status: "no spec.podCIDR on 2 of 3 nodes: demo-worker, demo-worker2; assigned: demo-control-plane 10.244.0.0/24"},
		{name: "all missing", nodes: []Node{{Name: "demo-control-plane"}, {Name: "demo-worker"}},
			status: "no spec.podCIDR on 2 of 2 nodes: demo-control-plane, demo-worker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, status := podCIDRsAssigned(tc.nodes)
			if ok != tc.want || status != tc.status {
				t.Errorf("podCIDRsAssigned = %t, %q; want %t, %q", ok, status, tc.want, tc.status)
			}
		})
	}
}
