package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// EchoSpec tells an echo server what to serve.
type EchoSpec struct {
	// Name is what the server answers with, e.g. the pod name.
	Name string `json:"name"`
	// TCP and UDP are the ports it listens on, on every address.
	TCP []int `json:"tcp,omitempty"`
	UDP []int `json:"udp,omitempty"`
}

// readyLine is what an echo server prints once it listens on every port.
const readyLine = "ready"

// Reply is an echo server's answer: who answered and the client address it
// saw (after any NAT on the way).
type Reply struct {
	// Server is the echo server's name.
	Server string `json:"server"`
	// Client is the client address as the server saw it, "ip:port".
	Client string `json:"client"`
}

// ClientIP returns the IP part of Client.
func (r Reply) ClientIP() string {
	host, _, err := net.SplitHostPort(r.Client)
	if err != nil {
		return r.Client
	}
	return host
}

// formatReply is the wire form of a Reply.
func formatReply(name string, client net.Addr) string {
	return name + " " + client.String() + "\n"
}

// parseReply parses the wire form of a Reply.
func parseReply(line string) (Reply, error) {
	server, client, ok := strings.Cut(strings.TrimSpace(line), " ")
	if !ok {
		return Reply{}, fmt.Errorf("parsing echo reply %q: want \"name ip:port\"", line)
	}
	return Reply{Server: server, Client: client}, nil
}

// ServeEcho listens on spec's ports, writes readyLine to ready once every
// socket is bound, and answers every TCP connection and UDP datagram with
// spec.Name and the client address it saw, until ctx is done.
func ServeEcho(ctx context.Context, spec EchoSpec, ready io.Writer) error {
	var closers []io.Closer
	var wg sync.WaitGroup
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
		wg.Wait()
	}()
	for _, port := range spec.TCP {
		l, err := net.Listen("tcp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("listening on tcp port %d: %w", port, err)
		}
		closers = append(closers, l)
		wg.Go(func() { serveTCP(l, spec.Name) })
	}
	for _, port := range spec.UDP {
		c, err := net.ListenPacket("udp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("listening on udp port %d: %w", port, err)
		}
		closers = append(closers, c)
		wg.Go(func() { serveUDP(c, spec.Name) })
	}
	if _, err := fmt.Fprintln(ready, readyLine); err != nil {
		return fmt.Errorf("reporting readiness: %w", err)
	}
	<-ctx.Done()
	return nil
}

// serveTCP answers each connection on l once and closes it.
func serveTCP(l net.Listener, name string) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		_, _ = io.WriteString(conn, formatReply(name, conn.RemoteAddr()))
		_ = conn.Close()
	}
}

// serveUDP answers each datagram on c with one datagram.
func serveUDP(c net.PacketConn, name string) {
	buf := make([]byte, 2048)
	for {
		_, addr, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		_, _ = c.WriteTo([]byte(formatReply(name, addr)), addr)
	}
}

// readReply reads one reply line from r.
func readReply(r io.Reader) (Reply, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return Reply{}, err
	}
	return parseReply(line)
}
