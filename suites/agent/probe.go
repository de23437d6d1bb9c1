package agent

import (
	"context"
	"encoding/json"
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

// Protocol is how the prober talks to its target.
type Protocol string

// The protocols of the prober.
const (
	// TCP only connects: an attempt succeeds when the connection is
	// established; who answered is unknown.
	TCP Protocol = "tcp"
	// UDP sends a datagram and reads the agent's UDPReply.
	UDP Protocol = "udp"
	// HTTP sends GET /echo and reads the agent's Echo.
	HTTP Protocol = "http"
)

// ParseProtocol parses a --protocol value.
func ParseProtocol(s string) (Protocol, error) {
	switch p := Protocol(strings.ToLower(s)); p {
	case TCP, UDP, HTTP:
		return p, nil
	}
	return "", fmt.Errorf("unknown protocol %q (want tcp, udp or http)", s)
}

// ErrorKind classifies a failed attempt.
type ErrorKind string

// The kinds of failure an attempt can have.
const (
	// Refused means the target actively refused: a TCP reset or an ICMP
	// port unreachable.
	Refused ErrorKind = "refused"
	// Timeout means no answer came within the timeout.
	Timeout ErrorKind = "timeout"
	// Other is any other failure (unreachable network, bad answer, ...).
	Other ErrorKind = "other"
)

// ProbeOptions says what Probe does.
type ProbeOptions struct {
	// Target is host:port.
	Target string
	// Protocol is how to talk to the target.
	Protocol Protocol
	// Count is the number of attempts; at least 1.
	Count int
	// Timeout bounds each attempt.
	Timeout time.Duration
	// SourcePort, when not 0, is the local port every attempt uses.
	SourcePort int
}

// Attempt is the outcome of one attempt.
type Attempt struct {
	// Seq numbers the attempts from 1.
	Seq int `json:"seq"`
	// OK reports that the target answered (for TCP: the connection was
	// established).
	OK bool `json:"ok"`
	// Hostname is who answered (empty for TCP).
	Hostname string `json:"hostname,omitempty"`
	// Client is the client address the answering agent saw, as host:port.
	Client string `json:"client,omitempty"`
	// ErrorKind classifies a failure; empty when OK.
	ErrorKind ErrorKind `json:"errorKind,omitempty"`
	// Error is the failure's message; empty when OK.
	Error string `json:"error,omitempty"`
	// Millis is how long the attempt took, in milliseconds.
	Millis float64 `json:"millis"`
}

// Report is the outcome of a probe: `svccheck agent probe --json` prints it.
type Report struct {
	Target   string    `json:"target"`
	Protocol Protocol  `json:"protocol"`
	Attempts []Attempt `json:"attempts"`
}

// Probe runs opts.Count attempts against opts.Target, one after another,
// each on a new connection. Failures are recorded per attempt; Probe only
// returns an error for bad options or a cancelled ctx.
func Probe(ctx context.Context, opts ProbeOptions) (Report, error) {
	if _, _, err := net.SplitHostPort(opts.Target); err != nil {
		return Report{}, fmt.Errorf("bad target %q: %w", opts.Target, err)
	}
	if _, err := ParseProtocol(string(opts.Protocol)); err != nil {
		return Report{}, err
	}
	if opts.Count < 1 {
		opts.Count = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	rep := Report{Target: opts.Target, Protocol: opts.Protocol}
	for i := 1; i <= opts.Count; i++ {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("probing %s: %w", opts.Target, err)
		}
		start := time.Now()
		a := attempt(ctx, opts)
		a.Seq = i
		a.Millis = float64(time.Since(start).Microseconds()) / 1000
		rep.Attempts = append(rep.Attempts, a)
	}
	return rep, nil
}

// attempt makes one attempt.
func attempt(ctx context.Context, opts ProbeOptions) Attempt {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	var (
		e   Echo
		err error
	)
	switch opts.Protocol {
	case TCP:
		err = probeTCP(ctx, opts)
	case UDP:
		e, err = probeUDP(ctx, opts)
	case HTTP:
		e, err = probeHTTP(ctx, opts)
	}
	if err != nil {
		return Attempt{ErrorKind: Classify(err), Error: err.Error()}
	}
	return Attempt{OK: true, Hostname: e.Hostname, Client: e.Client}
}

// Classify returns the kind of a dial, read or HTTP error.
func Classify(err error) ErrorKind {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return Timeout
	case errors.As(err, &ne) && ne.Timeout():
		return Timeout
	}
	return Other
}

func (o ProbeOptions) dialer() *net.Dialer {
	d := &net.Dialer{Control: reuseAddr}
	if o.SourcePort != 0 {
		switch o.Protocol {
		case UDP:
			d.LocalAddr = &net.UDPAddr{Port: o.SourcePort}
		default:
			d.LocalAddr = &net.TCPAddr{Port: o.SourcePort}
		}
	}
	return d
}

// reuseAddr sets SO_REUSEADDR, so a fixed source port can be bound again
// while an earlier connection from it lingers in TIME_WAIT.
func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	return errors.Join(err, serr)
}

func probeTCP(ctx context.Context, opts ProbeOptions) error {
	c, err := opts.dialer().DialContext(ctx, "tcp", opts.Target)
	if err != nil {
		return err
	}
	return c.Close()
}

func probeUDP(ctx context.Context, opts ProbeOptions) (Echo, error) {
	c, err := opts.dialer().DialContext(ctx, "udp", opts.Target)
	if err != nil {
		return Echo{}, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("svccheck probe")); err != nil {
		return Echo{}, err
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return Echo{}, err
	}
	host, client, ok := strings.Cut(strings.TrimSpace(string(buf[:n])), " ")
	if !ok {
		return Echo{}, fmt.Errorf("unexpected udp answer %q", buf[:n])
	}
	return Echo{Hostname: host, Client: client}, nil
}

func probeHTTP(ctx context.Context, opts ProbeOptions) (Echo, error) {
	tr := &http.Transport{DialContext: opts.dialer().DialContext, DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+opts.Target+"/echo", nil)
	if err != nil {
		return Echo{}, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return Echo{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return Echo{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Echo{}, fmt.Errorf("http status %s", resp.Status)
	}
	var e Echo
	if err := json.Unmarshal(body, &e); err != nil {
		return Echo{}, fmt.Errorf("decoding the echo %q: %w", body, err)
	}
	return e, nil
}
