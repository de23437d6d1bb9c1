package explain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/kind/pkg/exec"
)

// fakeNode is an exec.Cmder standing for a node: it answers the backend
// detection, plays a recorded trace as the trace reader until that is
// killed, keeps the trace rules added and not removed, and fails a
// command whose context has ended, as docker exec does.
type fakeNode struct {
	tools  string // the detection's output
	trace  string // what the trace reader prints
	failOn string // a command starting so fails

	mu     sync.Mutex
	rules  []string // trace rules present
	killed chan struct{}
	ran    []string
}

var _ exec.Cmder = (*fakeNode)(nil)

func newFakeNode(tools, trace string) *fakeNode {
	return &fakeNode{tools: tools, trace: trace, killed: make(chan struct{})}
}

// CommandContext implements exec.Cmder.
func (f *fakeNode) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	return &fakeCmd{f: f, ctx: ctx, argv: append([]string{name}, args...)}
}

// Command implements exec.Cmder.
func (f *fakeNode) Command(name string, args ...string) exec.Cmd {
	return f.CommandContext(context.Background(), name, args...)
}

type fakeCmd struct {
	f      *fakeNode
	ctx    context.Context
	argv   []string
	stdout io.Writer
}

func (c *fakeCmd) SetEnv(...string) exec.Cmd          { return c }
func (c *fakeCmd) SetStdin(io.Reader) exec.Cmd        { return c }
func (c *fakeCmd) SetStdout(w io.Writer) exec.Cmd     { c.stdout = w; return c }
func (c *fakeCmd) SetStderr(io.Writer) exec.Cmd       { return c }
func (c *fakeCmd) write(s string)                     { _, _ = io.WriteString(c.stdout, s) }
func (c *fakeCmd) nftKey(script string) string        { t, _, _ := strings.Cut(script, " ;"); return t }
func (c *fakeCmd) done() bool                         { return c.ctx.Err() != nil }
func (c *fakeCmd) record(line string)                 { c.f.ran = append(c.f.ran, line) }
func (c *fakeCmd) fail(format string, a ...any) error { return fmt.Errorf(format, a...) }

// Run implements exec.Cmd.
func (c *fakeCmd) Run() error {
	line := strings.Join(c.argv, " ")
	c.f.mu.Lock()
	c.record(line)
	c.f.mu.Unlock()
	if c.done() {
		return c.ctx.Err()
	}
	if c.f.failOn != "" && strings.HasPrefix(line, c.f.failOn) {
		return c.fail("%s: exit status 1", line)
	}
	switch {
	case strings.HasPrefix(line, "sh -c iptables -V"):
		c.write(c.f.tools)
	case strings.HasPrefix(line, "sh -c echo $$; exec timeout"):
		c.write("4242\n" + c.f.trace)
		<-c.f.killed
	case line == "sh -c kill 4242":
		close(c.f.killed)
	default:
		return c.rule(line)
	}
	return nil
}

// rule adds or removes a trace rule.
func (c *fakeCmd) rule(line string) error {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	var key string
	add := false
	switch {
	case c.argv[0] == "iptables" && c.argv[5] == "-I":
		key, add = strings.Join(append([]string{c.argv[6]}, c.argv[8:]...), " "), true
	case c.argv[0] == "iptables" && c.argv[5] == "-D":
		key = strings.Join(c.argv[6:], " ")
	case c.argv[0] == "nft" && c.argv[1] == "delete":
		key = "add table ip " + c.argv[4]
	case c.argv[0] == "nft":
		key, add = c.nftKey(c.argv[1]), true
	default:
		return c.fail("unexpected command %s", line)
	}
	i := slices.Index(c.f.rules, key)
	switch {
	case add:
		c.f.rules = append(c.f.rules, key)
	case i < 0:
		return c.fail("%s: no such rule", line)
	default:
		c.f.rules = slices.Delete(c.f.rules, i, i+1)
	}
	return nil
}

const (
	xtablesNode = "iptables v1.8.9 (nf_tables)\n---\ntable ip filter\ntable ip nat\n---\n/usr/sbin/xtables-monitor\n/usr/sbin/nft\n"
	nftNode     = "iptables v1.8.9 (nf_tables)\n---\ntable ip filter\ntable ip kube-proxy\n---\n/usr/sbin/xtables-monitor\n/usr/sbin/nft\n"
	legacyNode  = "iptables v1.8.9 (legacy)\n---\n---\n/usr/sbin/xtables-monitor\n"
)

func liveTraceOn(node *fakeNode, sport int, probe func(context.Context) (string, error)) *LiveTrace {
	return &LiveTrace{Node: node, SourcePort: sport, Probe: probe, Settle: 1,
		Source: Source{Kind: FromPod, Name: "svcchk-live-rec/client", Addr: netip.MustParseAddr("10.244.1.43"), Node: "svcchk-shared-worker"},
		Target: Target{Addr: netip.MustParseAddr("10.96.221.103"), Port: 80, Protocol: "tcp"}}
}

func connected(context.Context) (string, error) { return "connected", nil }

func TestLiveTraceReadsTheKernelAndRemovesTheRule(t *testing.T) {
	for _, tc := range []struct {
		name, tools, trace string
		sport              int
		tracer             Tracer
		dest               string
	}{
		{name: "iptables-nft", tools: xtablesNode, trace: "svccheck-pod.xtables", sport: 40852, tracer: XtablesMonitor, dest: "10.244.2.16:8080"},
		{name: "nftables", tools: nftNode, trace: "kpnft-pod.nft", sport: 48123, tracer: NFTMonitor, dest: "10.244.2.34:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := newFakeNode(tc.tools, readTestdata(t, tc.trace))
			l := liveTraceOn(node, tc.sport, connected)
			if tc.tracer == NFTMonitor {
				l.Target.Addr = netip.MustParseAddr("10.96.75.96")
			}
			k, err := l.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if k.Tracer != tc.tracer || k.Destination != tc.dest || !strings.Contains(k.TraceRule, fmt.Sprint(tc.sport)) {
				t.Errorf("got %s to %s with rule %q; want %s to %s with source port %d", k.Tracer, k.Destination, k.TraceRule, tc.tracer, tc.dest, tc.sport)
			}
			if len(node.rules) != 0 {
				t.Errorf("trace rules left: %v\nran: %q", node.rules, node.ran)
			}
		})
	}
}

// An interrupt (the context ending) while the probe runs, or a probe that
// fails, still removes the trace rule and stops the trace reader.
func TestLiveTraceRemovesTheRuleOnEveryWayOut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		probe func(cancel context.CancelFunc) func(context.Context) (string, error)
	}{
		{name: "interrupted", probe: func(cancel context.CancelFunc) func(context.Context) (string, error) {
			return func(ctx context.Context) (string, error) { cancel(); return "", ctx.Err() }
		}},
		{name: "probe fails", probe: func(context.CancelFunc) func(context.Context) (string, error) {
			return func(context.Context) (string, error) { return "", errors.New("pod has no svccheck binary") }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := newFakeNode(xtablesNode, readTestdata(t, "svccheck-pod.xtables"))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := liveTraceOn(node, 40852, tc.probe(cancel)).Run(ctx)
			if err == nil {
				t.Fatal("got no error")
			}
			if len(node.rules) != 0 {
				t.Errorf("trace rules left: %v\nran: %q", node.rules, node.ran)
			}
			if !slices.Contains(node.ran, "sh -c kill 4242") {
				t.Errorf("the trace reader was not stopped; ran: %q", node.ran)
			}
		})
	}
}

func TestLiveTraceRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, tools, want string
		proto             string
	}{
		{name: "legacy", tools: legacyNode, proto: "tcp", want: "iptables-legacy"},
		{name: "sctp", tools: xtablesNode, proto: "sctp", want: "tcp and udp"},
		{name: "no nft", tools: "iptables v1.8.9 (nf_tables)\n---\ntable ip kube-proxy\n---\n/usr/sbin/xtables-monitor\n", proto: "tcp", want: "no nft command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := newFakeNode(tc.tools, "")
			l := liveTraceOn(node, 40000, connected)
			l.Target.Protocol = tc.proto
			if _, err := l.Run(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
			if len(node.rules) != 0 {
				t.Errorf("trace rules added: %v", node.rules)
			}
		})
	}
}
