package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
)

// Echo is what the server answers on GET /echo.
type Echo struct {
	// Hostname is the server's hostname (the pod name in a pod).
	Hostname string `json:"hostname"`
	// Client is the client address the server saw, as host:port.
	Client string `json:"client"`
}

// ServerConfig says where the agent server listens.
type ServerConfig struct {
	// Hostname is what the server reports as itself.
	Hostname string
	// HTTPAddr is the TCP address of the HTTP server, like ":8080".
	HTTPAddr string
	// UDPAddr is the UDP address of the UDP echo server, like ":8081";
	// empty disables it.
	UDPAddr string
}

// NewHandler returns the agent's HTTP handler: GET /hostname answers
// hostname, GET /clientip the client address as host:port, GET /echo an Echo
// as JSON, GET /healthz "ok".
func NewHandler(hostname string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hostname", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, hostname)
	})
	mux.HandleFunc("GET /clientip", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RemoteAddr)
	})
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Echo{Hostname: hostname, Client: r.RemoteAddr})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "ok")
	})
	return mux
}

// Serve runs the HTTP and UDP servers of cfg until ctx is done. It returns
// an error when a listener cannot be opened or a server fails.
func Serve(ctx context.Context, cfg ServerConfig) error {
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening on tcp %s: %w", cfg.HTTPAddr, err)
	}
	var pc net.PacketConn
	if cfg.UDPAddr != "" {
		pc, err = net.ListenPacket("udp", cfg.UDPAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listening on udp %s: %w", cfg.UDPAddr, err)
		}
	}
	return serveOn(ctx, cfg.Hostname, ln, pc)
}

// serveOn serves on open listeners; pc may be nil.
func serveOn(ctx context.Context, hostname string, ln net.Listener, pc net.PacketConn) error {
	srv := &http.Server{Handler: NewHandler(hostname), ReadHeaderTimeout: 10 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving http: %w", err)
		}
		return nil
	})
	if pc != nil {
		g.Go(func() error { return serveUDP(gctx, hostname, pc) })
	}
	g.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if pc != nil {
			pc.Close()
		}
		return srv.Shutdown(shutdownCtx)
	})
	return g.Wait()
}

// UDPReply is the UDP server's answer: its hostname and the client
// address it saw, separated by a space.
func UDPReply(hostname string, client net.Addr) string {
	return hostname + " " + client.String()
}

// serveUDP answers every datagram with UDPReply until ctx is done.
func serveUDP(ctx context.Context, hostname string, pc net.PacketConn) error {
	buf := make([]byte, 2048)
	for {
		_, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading udp: %w", err)
		}
		if _, err := pc.WriteTo([]byte(UDPReply(hostname, addr)), addr); err != nil && ctx.Err() != nil {
			return nil
		}
	}
}

// JoinPort returns ":port", for ServerConfig addresses.
func JoinPort(port int) string { return ":" + strconv.Itoa(port) }
