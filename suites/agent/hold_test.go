package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

func decodeExchanges(t *testing.T, out []byte) []Exchange {
	t.Helper()
	var exs []Exchange
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var ex Exchange
		if err := dec.Decode(&ex); err != nil {
			t.Fatalf("decoding %q: %v", out, err)
		}
		exs = append(exs, ex)
	}
	return exs
}

func TestHoldKeepsOneConnection(t *testing.T) {
	addr, _ := startServer(t, "backend-1")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	if err := Hold(ctx, HoldOptions{Target: addr, Interval: 20 * time.Millisecond}, &out); err != nil {
		t.Fatalf("Hold: %v\n%s", err, out.String())
	}
	exs := decodeExchanges(t, out.Bytes())
	if len(exs) < 3 {
		t.Fatalf("%d exchanges, want at least 3:\n%s", len(exs), out.String())
	}
	for i, ex := range exs {
		if ex.Seq != i+1 || ex.Error != "" || ex.Hostname != "backend-1" || ex.Local != exs[0].Local {
			t.Errorf("exchange %d: %+v, want seq %d answered by backend-1 from %s", i, ex, i+1, exs[0].Local)
		}
	}
}

func TestHoldStopsAtTheFirstFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// A server that answers once, then closes the connection.
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"hostname\":\"b\"}"))
		_ = c.Close()
	}()
	var out bytes.Buffer
	err = Hold(context.Background(), HoldOptions{Target: ln.Addr().String(), Interval: 10 * time.Millisecond, Timeout: time.Second}, &out)
	if err == nil {
		t.Fatalf("Hold returned no error after the server closed the connection:\n%s", out.String())
	}
	exs := decodeExchanges(t, out.Bytes())
	if len(exs) != 2 || exs[0].Hostname != "b" || exs[1].Error == "" || !strings.Contains(err.Error(), "exchange 2") {
		t.Errorf("got %v and %+v, want one answer then one failed exchange", err, exs)
	}
}
