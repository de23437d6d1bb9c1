package explain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/exec"
)

// TraceMarker starts the comment of every iptables trace rule and the
// name of every nftables trace table explain --live adds, so a leftover
// is easy to find: `iptables-save -t raw | grep svccheck-live`,
// `nft list tables | grep svccheck-live`.
const TraceMarker = "svccheck-live"

// LiveTrace traces one probe through a node's tables with the kernel's
// own tracer: it adds a trace rule for exactly the probe's flow (its
// source port is unique), reads the trace while Probe sends one
// connection, and removes the rule again whatever happens.
type LiveTrace struct {
	// Node runs commands in the node's root and network namespace.
	Node exec.Cmder
	// Source is where the probe starts; its Addr is matched when set
	// (pods and external clients), left out for a node.
	Source Source
	// Target is where the probe goes.
	Target Target
	// SourcePort is the probe's local port, matched by the trace rule.
	SourcePort int
	// Probe sends the one connection from SourcePort and describes what
	// it got ("answered by web-a", "timeout: ...").
	Probe func(ctx context.Context) (string, error)
	// Settle is how long the trace is read after the probe returns
	// (default 700ms).
	Settle time.Duration
	// Limit bounds the trace reader on the node (default 20s).
	Limit time.Duration
}

// Run adds the trace rule, probes, reads the kernel's trace and removes
// the rule. Removal runs with a context of its own, so a cancelled ctx
// (Ctrl-C) or a timeout still removes it; an error removing it is
// returned, naming the command that removes it by hand.
func (l *LiveTrace) Run(ctx context.Context) (k *KernelPath, err error) {
	if l.Target.Protocol != "tcp" && l.Target.Protocol != "udp" {
		return nil, fmt.Errorf("--live probes tcp and udp, not %s", l.Target.Protocol)
	}
	tracer, err := l.detect(ctx)
	if err != nil {
		return nil, err
	}
	add, remove, own, text := l.traceRule(tracer)
	// The reader's shell on the node adds the rule and removes it when it
	// ends (stopped, or its timeout), even when svccheck itself was
	// killed. svccheck removes it too, with a context of its own, on
	// every way out.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		if rerr := l.run(cctx, "sh", "-c", remove); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the trace rule (remove it with: %s): %w", remove, rerr))
		}
	}()
	mon, err := l.startMonitor(ctx, tracer, add, remove)
	if err != nil {
		return nil, err
	}
	defer mon.stop(context.WithoutCancel(ctx), l)
	probed, perr := l.Probe(ctx)
	if perr != nil {
		return nil, fmt.Errorf("probing %s from %s: %w", l.Target, l.Source, perr)
	}
	settle := l.Settle
	if settle <= 0 {
		settle = 700 * time.Millisecond
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(settle):
	}
	mon.stop(ctx, l)
	target := strings.TrimSuffix(strings.TrimSuffix(l.Target.String(), "/tcp"), "/udp")
	k, err = ParseKernelTrace(tracer, mon.output(), target, own)
	if err != nil {
		return nil, fmt.Errorf("reading the kernel's trace of %s from %s: %w", l.Target, l.Source, err)
	}
	k.TraceRule, k.Probe = text, fmt.Sprintf("from %s, source port %d: %s", l.Source, l.SourcePort, probed)
	return k, nil
}

// detect picks the trace reader: nft monitor trace when the node has a
// native nftables table (one iptables-nft does not make), else
// xtables-monitor --trace for iptables-nft. iptables-legacy's TRACE goes
// to the kernel log and is not read.
func (l *LiveTrace) detect(ctx context.Context) (Tracer, error) {
	out, err := l.output(ctx, "sh", "-c", "iptables -V; echo ---; nft list tables; echo ---; command -v xtables-monitor; command -v nft")
	if err != nil {
		return "", fmt.Errorf("finding the node's iptables backend: %w", err)
	}
	parts := strings.Split(out, "---")
	if len(parts) != 3 {
		return "", fmt.Errorf("finding the node's iptables backend: unexpected output %q", out)
	}
	tools := parts[2]
	if nativeTables(parts[1]) {
		if !strings.Contains(tools, "/nft") {
			return "", errors.New("the node has native nftables tables but no nft command to read their trace")
		}
		return NFTMonitor, nil
	}
	if !strings.Contains(parts[0], "nf_tables") {
		return "", fmt.Errorf("the node runs %s: --live reads iptables-nft's trace (xtables-monitor) or nftables' (nft), not iptables-legacy's kernel log", strings.TrimSpace(parts[0]))
	}
	if !strings.Contains(tools, "/xtables-monitor") {
		return "", errors.New("the node has no xtables-monitor to read iptables-nft's trace")
	}
	return XtablesMonitor, nil
}

// nativeTables reports whether `nft list tables` names a table
// iptables-nft does not make.
func nativeTables(list string) bool {
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "table" {
			continue
		}
		switch f[2] {
		case "filter", "nat", "mangle", "raw", "security":
			continue
		}
		if !strings.HasPrefix(f[2], TraceMarker) {
			return true
		}
	}
	return false
}

// traceRule returns the shell commands that add the trace rule and remove
// it when present, the table whose steps the trace leaves out, and the
// rule as text.
func (l *LiveTrace) traceRule(tracer Tracer) (add, remove, own, text string) {
	proto, sport, dport := l.Target.Protocol, strconv.Itoa(l.SourcePort), strconv.Itoa(int(l.Target.Port))
	hook := "prerouting"
	if l.Source.Kind == FromNode {
		hook = "output"
	}
	if tracer == NFTMonitor {
		table := fmt.Sprintf("%s-%d", TraceMarker, l.SourcePort)
		match := "ip daddr " + l.Target.Addr.String()
		if l.Source.Kind != FromNode && l.Source.Addr.IsValid() {
			match += " ip saddr " + l.Source.Addr.String()
		}
		match += fmt.Sprintf(" %s sport %s %s dport %s", proto, sport, proto, dport)
		if proto == "tcp" {
			match += " tcp flags syn"
		}
		text = fmt.Sprintf("add rule ip %s %s %s meta nftrace set 1", table, hook, match)
		script := fmt.Sprintf("add table ip %s ; add chain ip %s %s { type filter hook %s priority -350 ; } ; %s",
			table, table, hook, hook, text)
		return shellJoin([]string{"nft", script}),
			fmt.Sprintf("if nft list table ip %s >/dev/null 2>&1; then nft delete table ip %s; fi", table, table),
			"ip " + table, text
	}
	spec := []string{"-p", proto}
	if l.Source.Kind != FromNode && l.Source.Addr.IsValid() {
		spec = append(spec, "-s", l.Source.Addr.String())
	}
	spec = append(spec, "-d", l.Target.Addr.String(), "--sport", sport, "--dport", dport)
	if proto == "tcp" {
		spec = append(spec, "--syn")
	}
	spec = append(spec, "-m", "comment", "--comment", TraceMarker+" "+sport, "-j", "TRACE")
	chain := strings.ToUpper(hook)
	argv := append([]string{"iptables", "-w", "5", "-t", "raw", "-I", chain, "1"}, spec...)
	rule := shellJoin(append([]string{chain}, spec...))
	remove = fmt.Sprintf("if iptables -w 5 -t raw -C %s 2>/dev/null; then iptables -w 5 -t raw -D %s; fi", rule, rule)
	return shellJoin(argv), remove, "raw", shellJoin(argv[3:])
}

func (l *LiveTrace) run(ctx context.Context, argv ...string) error {
	_, err := l.output(ctx, argv...)
	return err
}

func (l *LiveTrace) output(ctx context.Context, argv ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := l.Node.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// shellJoin joins argv as a shell reads it back.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

// shellQuote quotes s for a shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\$`;&|<>(){}*?[]#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
