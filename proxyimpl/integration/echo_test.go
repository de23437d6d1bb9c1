package integration

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		line    string
		want    Reply
		wantErr bool
	}{
		{line: "node1-pod1 10.212.1.2:4000\n", want: Reply{Server: "node1-pod1", Client: "10.212.1.2:4000"}},
		{line: "node1-pod1", wantErr: true},
	} {
		t.Run(tc.line, func(t *testing.T) {
			got, err := parseReply(tc.line)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseReply(%q) error = %v, want error %v", tc.line, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parseReply(%q) (-want +got):\n%s", tc.line, diff)
			}
		})
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestEchoAndProbeLoopback runs the echo server and the prober over
// loopback: answers name the server and the client, a closed port is
// refused for TCP and UDP.
func TestEchoAndProbeLoopback(t *testing.T) {
	port, closed := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	pr, pw := net.Pipe()
	go func() { done <- ServeEcho(ctx, EchoSpec{Name: "lo-echo", TCP: []int{port}, UDP: []int{port}}, pw) }()
	go func() {
		if line, err := readReadyLine(pr); err == nil && strings.TrimSpace(line) == readyLine {
			close(ready)
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("echo server: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("echo server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("echo server not ready")
	}
	for _, proto := range []string{"tcp", "udp"} {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		res, err := RunProbes(context.Background(), ProbeSpec{Proto: proto, Addr: addr, Count: 2, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Outcome != Answered || r.Reply.Server != "lo-echo" || r.Reply.ClientIP() != "127.0.0.1" {
				t.Errorf("%s %s: got %v, want an answer from lo-echo seeing 127.0.0.1", proto, addr, r)
			}
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(closed))
		res, err = RunProbes(context.Background(), ProbeSpec{Proto: proto, Addr: addr, Count: 1, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Outcome != Refused {
			t.Errorf("%s %s (closed): got %v, want refused", proto, addr, res[0])
		}
	}
}

// readReadyLine reads the echo server's first line from c.
func readReadyLine(c net.Conn) (string, error) {
	buf := make([]byte, len(readyLine)+1)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}
