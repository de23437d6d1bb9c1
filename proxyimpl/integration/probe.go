package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Outcome classifies one probe.
type Outcome string

// Outcomes of a probe.
const (
	// Answered means an echo server replied.
	Answered Outcome = "answered"
	// Refused means the connection was refused (a TCP RST or an ICMP port
	// unreachable, e.g. from an iptables REJECT).
	Refused Outcome = "refused"
	// Timeout means nothing came back within the probe's timeout (e.g. an
	// iptables DROP).
	Timeout Outcome = "timeout"
	// Unreachable means an ICMP host or network unreachable came back.
	Unreachable Outcome = "unreachable"
	// Failed is any other error.
	Failed Outcome = "failed"
)

// ProbeSpec describes a batch of probes from one namespace.
type ProbeSpec struct {
	// Proto is "tcp" or "udp".
	Proto string `json:"proto"`
	// Addr is the target, "ip:port".
	Addr string `json:"addr"`
	// Count is how many probes to send, one after the other, each from a
	// new socket (a new source port).
	Count int `json:"count"`
	// Timeout bounds each probe.
	Timeout time.Duration `json:"timeout"`
}

// ProbeResult is the result of one probe.
type ProbeResult struct {
	// Outcome classifies the probe.
	Outcome Outcome `json:"outcome"`
	// Reply is the echo server's answer when Outcome is Answered.
	Reply Reply `json:"reply"`
	// Err is the error text for any other outcome.
	Err string `json:"err,omitempty"`
}

// String formats r for test failure messages.
func (r ProbeResult) String() string {
	if r.Outcome == Answered {
		return fmt.Sprintf("%s by %s (client %s)", r.Outcome, r.Reply.Server, r.Reply.Client)
	}
	return fmt.Sprintf("%s (%s)", r.Outcome, r.Err)
}

// RunProbes runs spec from the calling process's network namespace.
func RunProbes(ctx context.Context, spec ProbeSpec) ([]ProbeResult, error) {
	if spec.Proto != "tcp" && spec.Proto != "udp" {
		return nil, fmt.Errorf("probing %s: unknown protocol %q", spec.Addr, spec.Proto)
	}
	results := make([]ProbeResult, 0, spec.Count)
	for range spec.Count {
		if err := ctx.Err(); err != nil {
			return results, fmt.Errorf("probing %s: %w", spec.Addr, err)
		}
		results = append(results, probeOnce(ctx, spec))
	}
	return results, nil
}

// probeOnce sends one request and waits for one reply.
func probeOnce(ctx context.Context, spec ProbeSpec) ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, spec.Proto+"4", spec.Addr)
	if err != nil {
		return classify(err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return classify(err)
	}
	if spec.Proto == "udp" {
		if _, err := io.WriteString(conn, "hello\n"); err != nil {
			return classify(err)
		}
	}
	reply, err := readReply(conn)
	if err != nil {
		return classify(err)
	}
	return ProbeResult{Outcome: Answered, Reply: reply}
}

// classify maps a dial or read error to an outcome.
func classify(err error) ProbeResult {
	r := ProbeResult{Outcome: Failed, Err: err.Error()}
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		r.Outcome = Refused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		r.Outcome = Unreachable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		r.Outcome = Timeout
	}
	return r
}
