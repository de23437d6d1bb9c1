package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
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
	// Proto is "tcp", "udp" (the echo protocol) or "http" (a GET of "/").
	Proto string `json:"proto"`
	// Addr is the target, "ip:port".
	Addr string `json:"addr"`
	// Count is how many probes to send, one after the other, each from a
	// new socket (a new source port).
	Count int `json:"count"`
	// Timeout bounds each probe.
	Timeout time.Duration `json:"timeout"`
	// SourcePort, when set, is the local port of every probe (UDP only:
	// a fixed port keeps reusing one conntrack entry).
	SourcePort int `json:"sourcePort,omitempty"`
}

// ProbeResult is the result of one probe.
type ProbeResult struct {
	// Outcome classifies the probe.
	Outcome Outcome `json:"outcome"`
	// Reply is the echo server's answer when Outcome is Answered.
	Reply Reply `json:"reply"`
	// Status and Body are the HTTP status code and body of an answered
	// "http" probe.
	Status int    `json:"status,omitempty"`
	Body   string `json:"body,omitempty"`
	// Err is the error text for any other outcome.
	Err string `json:"err,omitempty"`
}

// String formats r for test failure messages.
func (r ProbeResult) String() string {
	if r.Outcome == Answered && r.Status != 0 {
		return fmt.Sprintf("%s with HTTP %d: %s", r.Outcome, r.Status, r.Body)
	}
	if r.Outcome == Answered {
		return fmt.Sprintf("%s by %s (client %s)", r.Outcome, r.Reply.Server, r.Reply.Client)
	}
	return fmt.Sprintf("%s (%s)", r.Outcome, r.Err)
}

// RunProbes runs spec from the calling process's network namespace.
func RunProbes(ctx context.Context, spec ProbeSpec) ([]ProbeResult, error) {
	if spec.Proto != "tcp" && spec.Proto != "udp" && spec.Proto != "http" {
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
	if spec.Proto == "http" {
		return probeHTTP(ctx, spec.Addr)
	}
	var d net.Dialer
	if spec.SourcePort != 0 {
		d.LocalAddr = &net.UDPAddr{Port: spec.SourcePort}
	}
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

// probeHTTP GETs http://addr/ and reports the status and body.
func probeHTTP(ctx context.Context, addr string) ProbeResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return ProbeResult{Outcome: Failed, Err: err.Error()}
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return classify(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return classify(err)
	}
	return ProbeResult{Outcome: Answered, Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
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
