package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/svccheck/svccheck/internal/rawtcp"
)

// OutOfWindowPayload is the data of every segment ServeOutOfWindow injects.
const OutOfWindowPayload = "svccheck out-of-window segment"

// Lines ServeOutOfWindow writes, one per event, each followed by the
// segment or the peer.
const (
	// OutOfWindowInjected starts the line of an injected segment.
	OutOfWindowInjected = "injected "
	// OutOfWindowRST starts the line of a RST received from a client: the
	// reset a client sends back when a segment reached it untranslated.
	OutOfWindowRST = "RST from "
)

// ServeOutOfWindow serves the agent's HTTP handler on TCP port and, once
// each connection on that port is established, sends its client a segment
// of the connection 2^30 beyond the window, as a raw packet: conntrack on
// the way finds it INVALID, and unless a node drops it, it reaches the
// client with this pod's address instead of the Service's, and the client
// answers with a RST that resets the connection (kubernetes issue 74839).
// It writes a line to w per injected segment and per RST received, until
// ctx is done. Needs CAP_NET_RAW.
func ServeOutOfWindow(ctx context.Context, hostname string, port int, w io.Writer) error {
	capture, err := rawtcp.Listen()
	if err != nil {
		return err
	}
	defer capture.Close()
	ln, err := net.Listen("tcp", JoinPort(port))
	if err != nil {
		return fmt.Errorf("listening on tcp port %d: %w", port, err)
	}
	srv := &http.Server{Handler: NewHandler(hostname), ReadHeaderTimeout: 10 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		defer srv.Close()
		return injectOutOfWindow(gctx, capture, uint16(port), w)
	})
	return g.Wait()
}

// injectOutOfWindow watches the segments to port on capture until ctx is
// done: after a client's SYN and its first ACK, it sends that client the
// out-of-window segment; a RST is reported.
func injectOutOfWindow(ctx context.Context, capture *rawtcp.Capture, port uint16, w io.Writer) error {
	pending := map[string]uint32{} // client ip:port -> its next sequence number
	for ctx.Err() == nil {
		s, ok, err := capture.Next(500 * time.Millisecond)
		if err != nil {
			return err
		}
		if !ok || s.DstPort != port {
			continue
		}
		peer := net.JoinHostPort(s.Src.String(), strconv.Itoa(int(s.SrcPort)))
		switch {
		case s.Flags&rawtcp.RST != 0:
			fmt.Fprintln(w, OutOfWindowRST+peer)
		case s.Flags&rawtcp.SYN != 0:
			pending[peer] = s.Seq + 1
		case s.Flags&rawtcp.ACK != 0:
			next, ok := pending[peer]
			if !ok {
				continue
			}
			delete(pending, peer)
			bad := rawtcp.Segment{
				Src: s.Dst, Dst: s.Src, SrcPort: port, DstPort: s.SrcPort,
				Seq: s.Ack + 1<<30, Ack: next, Flags: rawtcp.PSH | rawtcp.ACK,
				Window: s.Window, Payload: []byte(OutOfWindowPayload),
			}
			if err := rawtcp.Send(bad); err != nil {
				return err
			}
			fmt.Fprintln(w, OutOfWindowInjected+bad.String())
		}
	}
	return nil
}
