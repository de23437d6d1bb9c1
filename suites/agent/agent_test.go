package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// startServer serves the agent on loopback and returns its TCP and UDP
// addresses.
func startServer(t *testing.T, hostname string) (tcpAddr, udpAddr string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveOn(ctx, hostname, ln, pc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String(), pc.LocalAddr().String()
}

func TestHandler(t *testing.T) {
	addr, _ := startServer(t, "backend-1")
	for _, tc := range []struct {
		path   string
		want   func(client string) string
		status int
	}{
		{"/hostname", func(string) string { return "backend-1" }, 200},
		{"/clientip", func(c string) string { return c }, 200},
		{"/echo", func(c string) string { return `{"hostname":"backend-1","client":"` + c + `"}` + "\n" }, 200},
		{"/healthz", func(string) string { return "ok" }, 200},
		{"/nope", nil, 404},
	} {
		t.Run(tc.path, func(t *testing.T) {
			tr := &http.Transport{DisableKeepAlives: true}
			var local string
			tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, a)
				if err == nil {
					local = c.LocalAddr().String()
				}
				return c, err
			}
			resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.want == nil {
				return
			}
			if diff := cmp.Diff(tc.want(local), string(body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	tcpAddr, udpAddr := startServer(t, "backend-1")
	closedTCP := closedPort(t, "tcp")
	closedUDP := closedPort(t, "udp")
	silentUDP := silentUDPPort(t)
	for _, tc := range []struct {
		name     string
		opts     ProbeOptions
		wantOK   bool
		wantHost string
		wantKind ErrorKind
	}{
		{"http answers", ProbeOptions{Target: tcpAddr, Protocol: HTTP, Count: 3}, true, "backend-1", ""},
		{"udp answers", ProbeOptions{Target: udpAddr, Protocol: UDP, Count: 3}, true, "backend-1", ""},
		{"tcp connects", ProbeOptions{Target: tcpAddr, Protocol: TCP, Count: 2}, true, "", ""},
		{"tcp refused", ProbeOptions{Target: closedTCP, Protocol: TCP, Count: 2}, false, "", Refused},
		{"http refused", ProbeOptions{Target: closedTCP, Protocol: HTTP}, false, "", Refused},
		{"udp refused", ProbeOptions{Target: closedUDP, Protocol: UDP}, false, "", Refused},
		{"udp timeout", ProbeOptions{Target: silentUDP, Protocol: UDP, Timeout: 200 * time.Millisecond}, false, "", Timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Probe(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			want := max(tc.opts.Count, 1)
			if len(rep.Attempts) != want {
				t.Fatalf("got %d attempts, want %d", len(rep.Attempts), want)
			}
			for i, a := range rep.Attempts {
				if a.Seq != i+1 || a.OK != tc.wantOK || a.Hostname != tc.wantHost || a.ErrorKind != tc.wantKind {
					t.Errorf("attempt %d = %+v, want ok=%t hostname=%q kind=%q", i, a, tc.wantOK, tc.wantHost, tc.wantKind)
				}
				if tc.wantOK && tc.opts.Protocol != TCP && !strings.HasPrefix(a.Client, "127.0.0.1:") {
					t.Errorf("attempt %d: client %q, want 127.0.0.1:port", i, a.Client)
				}
			}
		})
	}
}

func TestProbeSourcePort(t *testing.T) {
	_, udpAddr := startServer(t, "backend-1")
	port := freePort(t, "udp")
	rep, err := Probe(context.Background(), ProbeOptions{Target: udpAddr, Protocol: UDP, Count: 2, SourcePort: port})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rep.Attempts {
		_, p, _ := net.SplitHostPort(a.Client)
		if !a.OK || p != itoa(port) {
			t.Errorf("attempt %+v: want the server to see source port %d", a, port)
		}
	}
}

func TestProbeBadOptions(t *testing.T) {
	for _, o := range []ProbeOptions{
		{Target: "no-port", Protocol: TCP},
		{Target: "127.0.0.1:1", Protocol: "sctp"},
	} {
		if _, err := Probe(context.Background(), o); err == nil {
			t.Errorf("Probe(%+v) succeeded, want an error", o)
		}
	}
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T, network string) string {
	return net.JoinHostPort("127.0.0.1", itoa(freePort(t, network)))
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// silentUDPPort returns a loopback UDP address bound by a socket that never
// answers.
func silentUDPPort(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func itoa(i int) string { return JoinPort(i)[1:] }
