package explain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/kind/pkg/exec"
)

// fakeNode is an exec.Cmder standing for a node: it answers the backend
// detection, plays the trace reader's shell (adding the trace rule,
// printing a recorded trace, and, unless shellDies, removing the rule
// when killed), removes a rule present when asked, and fails a command
// whose context has ended, as docker exec does.
type fakeNode struct {
	tools     string // the detection's output
	trace     string // what the trace reader prints
	addFails  bool   // the shell cannot add the rule
	shellDies bool   // the shell dies without removing the rule

	mu     sync.Mutex
	rules  []string // source ports of the trace rules present
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
	f              *fakeNode
	ctx            context.Context
	argv           []string
	stdout, stderr io.Writer
}

func (c *fakeCmd) SetEnv(...string) exec.Cmd      { return c }
func (c *fakeCmd) SetStdin(io.Reader) exec.Cmd    { return c }
func (c *fakeCmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *fakeCmd) SetStderr(w io.Writer) exec.Cmd { c.stderr = w; return c }

// rulePort finds the source port a trace rule or table is named after.
var rulePort = regexp.MustCompile(TraceMarker + `[ -](\d+)`)

// Run implements exec.Cmd.
func (c *fakeCmd) Run() error {
	line := strings.Join(c.argv, " ")
	c.f.mu.Lock()
	c.f.ran = append(c.f.ran, line)
	c.f.mu.Unlock()
	if c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	port := rulePort.FindStringSubmatch(line)
	switch {
	case strings.HasPrefix(line, "sh -c iptables -V"):
		_, _ = io.WriteString(c.stdout, c.f.tools)
	case strings.HasPrefix(line, "sh -c echo $$") && port != nil:
		return c.shell(port[1])
	case line == "sh -c kill 4242":
		close(c.f.killed)
	case strings.HasPrefix(line, "sh -c if ") && port != nil:
		c.f.remove(port[1])
	default:
		return fmt.Errorf("unexpected command %s", line)
	}
	return nil
}

// shell plays the trace reader's shell.
func (c *fakeCmd) shell(port string) error {
	_, _ = io.WriteString(c.stdout, "4242\n")
	if c.f.addFails {
		_, _ = io.WriteString(c.stderr, "iptables: No chain/target/match by that name.\n")
		return errors.New("exit status 1")
	}
	c.f.mu.Lock()
	c.f.rules = append(c.f.rules, port)
	c.f.mu.Unlock()
	_, _ = io.WriteString(c.stderr, readyMarker+"\n")
	_, _ = io.WriteString(c.stdout, c.f.trace)
	<-c.f.killed
	if !c.f.shellDies {
		c.f.remove(port)
	}
	return nil
}

func (f *fakeNode) remove(port string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.Index(f.rules, port); i >= 0 {
		f.rules = slices.Delete(f.rules, i, i+1)
	}
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
		name      string
		shellDies bool
		probe     func(cancel context.CancelFunc) func(context.Context) (string, error)
	}{
		{name: "interrupted", probe: func(cancel context.CancelFunc) func(context.Context) (string, error) {
			return func(ctx context.Context) (string, error) { cancel(); return "", ctx.Err() }
		}},
		{name: "probe fails", probe: func(context.CancelFunc) func(context.Context) (string, error) {
			return func(context.Context) (string, error) { return "", errors.New("pod has no svccheck binary") }
		}},
		{name: "interrupted, the node's shell died", shellDies: true, probe: func(cancel context.CancelFunc) func(context.Context) (string, error) {
			return func(ctx context.Context) (string, error) { cancel(); return "", ctx.Err() }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := newFakeNode(xtablesNode, readTestdata(t, "svccheck-pod.xtables"))
			node.shellDies = tc.shellDies
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

// A rule the node's shell could not add fails the trace, saying why.
func TestLiveTraceAddFails(t *testing.T) {
	node := newFakeNode(xtablesNode, "")
	node.addFails = true
	_, err := liveTraceOn(node, 40000, connected).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "No chain/target/match") {
		t.Errorf("got %v, want the shell's error", err)
	}
	if len(node.rules) != 0 {
		t.Errorf("trace rules left: %v", node.rules)
	}
}
