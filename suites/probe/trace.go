package probe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
	"sigs.k8s.io/kind/pkg/exec"
)

// RuleTracer is the simulated prober: it reads a node's nat and filter
// rules and traces a connection through them, predicting where the proxy
// sends it without sending anything. Where it disagrees with real probes
// from the same node, the rules and the kernel disagree: a finding.
type RuleTracer struct {
	// Name is the node's name.
	Name string
	// Cmder runs iptables-save on the node.
	Cmder exec.Cmder
	// LocalAddrs are the node's own addresses.
	LocalAddrs []string
	// ChainPrefix selects the proxy's chains ("SVCCHK-" or "KUBE-"); the
	// node's other rules (Docker's, the CNI's) are left out of the trace.
	ChainPrefix string
}

// Trace traces the first packet of a connection from the node itself to
// target and returns every path it can take.
func (t *RuleTracer) Trace(ctx context.Context, proto Protocol, target string) (*iptrace.Result, error) {
	src := "127.0.0.1"
	if len(t.LocalAddrs) > 0 {
		src = t.LocalAddrs[0]
	}
	return t.TraceFrom(ctx, proto, src, target)
}

// TraceFrom traces the first packet of a connection from source to target
// as it reaches the node, and returns every path it can take.
func (t *RuleTracer) TraceFrom(ctx context.Context, proto Protocol, source, target string) (*iptrace.Result, error) {
	pkt, err := t.Packet(proto, source, target)
	if err != nil {
		return nil, err
	}
	tracer, err := t.Rules(ctx)
	if err != nil {
		return nil, err
	}
	res, err := tracer.Trace(pkt)
	if err != nil {
		return nil, fmt.Errorf("tracing %s %s -> %s on node %s: %w", pkt.Protocol, source, target, t.Name, err)
	}
	return res, nil
}

// Packet returns the first packet of a connection from source to target
// (host:port) as the node sees it: generated on the node itself when
// source is one of LocalAddrs, else arriving from outside it.
func (t *RuleTracer) Packet(proto Protocol, source, target string) (iptrace.Packet, error) {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return iptrace.Packet{}, fmt.Errorf("tracing %s: %w", target, err)
	}
	dport, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return iptrace.Packet{}, fmt.Errorf("tracing %s: bad port: %w", target, err)
	}
	proto4 := string(proto)
	if proto == HTTP || proto == "" {
		proto4 = string(TCP)
	}
	return iptrace.Packet{Source: source, Destination: host, Protocol: proto4, DestinationPort: uint16(dport),
		Local: slices.Contains(t.LocalAddrs, source)}, nil
}

// Rules reads the node's nat and filter rules, keeps the proxy's (see
// ProxyRules) and returns a tracer over them, for tracing several packets
// through one reading (and filling -m recent lists with AddRecent).
func (t *RuleTracer) Rules(ctx context.Context) (*iptrace.Tracer, error) {
	var save bytes.Buffer
	for _, table := range []string{"nat", "filter"} {
		var out, errOut bytes.Buffer
		cmd := t.Cmder.CommandContext(ctx, "iptables-save", "-t", table)
		cmd.SetStdout(&out)
		cmd.SetStderr(&errOut)
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("running iptables-save -t %s on node %s: %w: %s", table, t.Name, err, strings.TrimSpace(errOut.String()))
		}
		save.Write(ProxyRules(out.Bytes(), t.ChainPrefix))
	}
	dump, err := ipsave.Parse(save.Bytes())
	if err != nil {
		return nil, fmt.Errorf("parsing the rules of node %s: %w", t.Name, err)
	}
	tracer, err := iptrace.New(dump, t.LocalAddrs...)
	if err != nil {
		return nil, fmt.Errorf("tracing on node %s: %w", t.Name, err)
	}
	return tracer, nil
}

// ProxyRules keeps, of iptables-save output, the table headers, COMMIT
// lines, chain declarations, the rules of chains starting with prefix and
// the rules that jump to such chains; counters are dropped.
func ProxyRules(save []byte, prefix string) []byte {
	var out bytes.Buffer
	_ = ipsave.Scan(save, func(l ipsave.Line) error {
		line := l.Text
		switch l.Kind {
		case ipsave.LineTable, ipsave.LineCommit:
		case ipsave.LineChain:
			line = ":" + string(l.Chain) + " " + l.Policy + " [0:0]"
		case ipsave.LineRule:
			if !strings.HasPrefix(string(l.Chain), prefix) && !strings.Contains(l.Spec, "-j "+prefix) {
				return nil
			}
			line = "-A " + string(l.Chain) + " " + l.Spec
		default:
			return nil
		}
		out.WriteString(line)
		out.WriteByte('\n')
		return nil
	})
	return out.Bytes()
}
