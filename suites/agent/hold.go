package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// HoldOptions says what Hold does.
type HoldOptions struct {
	// Target is the host:port of an agent's HTTP server (or a Service
	// in front of agents).
	Target string
	// Interval is the pause between two exchanges; at least 1ms.
	Interval time.Duration
	// Timeout bounds the dial and each exchange.
	Timeout time.Duration
	// For, when positive, ends Hold without an error once no exchange
	// has failed for that long; zero holds until ctx is done.
	For time.Duration
}

// Exchange is one request and answer over the held connection, printed as
// a JSON line.
type Exchange struct {
	// Seq counts the exchanges from 1.
	Seq int `json:"seq"`
	// Time is when the exchange started.
	Time time.Time `json:"time"`
	// Local is the connection's local address: the same on every line of
	// one Hold.
	Local string `json:"local"`
	// Hostname is the server that answered, empty on failure.
	Hostname string `json:"hostname,omitempty"`
	// Millis is how long the exchange took.
	Millis float64 `json:"ms"`
	// Error says why the exchange failed; Hold stops after it.
	Error string `json:"error,omitempty"`
}

// Hold dials opts.Target once and, until ctx is done, sends GET /echo over
// that one connection every opts.Interval, writing one Exchange per line to
// w. The first failed exchange is written and ends Hold with an error: the
// connection is never redialled, so a reader of the lines knows the
// connection lived as long as the lines go on without an error.
func Hold(ctx context.Context, opts HoldOptions, w io.Writer) error {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	conn, err := (&net.Dialer{Timeout: opts.Timeout}).DialContext(ctx, "tcp", opts.Target)
	if err != nil {
		return fmt.Errorf("dialling %s: %w", opts.Target, err)
	}
	defer conn.Close()
	var done <-chan time.Time
	if opts.For > 0 {
		timer := time.NewTimer(opts.For)
		defer timer.Stop()
		done = timer.C
	}
	enc := json.NewEncoder(w)
	br := bufio.NewReader(conn)
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	for seq := 1; ; seq++ {
		ex := Exchange{Seq: seq, Time: time.Now().UTC(), Local: conn.LocalAddr().String()}
		echo, err := exchange(conn, br, opts.Target, ex.Time.Add(opts.Timeout))
		ex.Millis = float64(time.Since(ex.Time).Microseconds()) / 1000
		if err != nil {
			ex.Error = err.Error()
		} else {
			ex.Hostname = echo.Hostname
		}
		if err := enc.Encode(ex); err != nil {
			return fmt.Errorf("writing exchange %d: %w", seq, err)
		}
		if err != nil {
			return fmt.Errorf("exchange %d over %s: %w", seq, ex.Local, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			return nil
		case <-tick.C:
		}
	}
}

// exchange sends one GET /echo over conn and reads the answer by deadline.
func exchange(conn net.Conn, br *bufio.Reader, host string, deadline time.Time) (Echo, error) {
	var echo Echo
	if err := conn.SetDeadline(deadline); err != nil {
		return echo, fmt.Errorf("setting the deadline: %w", err)
	}
	if _, err := fmt.Fprintf(conn, "GET /echo HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		return echo, fmt.Errorf("sending: %w", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return echo, fmt.Errorf("reading the answer: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return echo, fmt.Errorf("answer %s", resp.Status)
	}
	if resp.Close {
		return echo, fmt.Errorf("the server closes the connection")
	}
	if err := json.NewDecoder(resp.Body).Decode(&echo); err != nil {
		return echo, fmt.Errorf("decoding the answer: %w", err)
	}
	// The body must be read to its end before the next answer.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return echo, fmt.Errorf("reading the answer: %w", err)
	}
	return echo, nil
}
