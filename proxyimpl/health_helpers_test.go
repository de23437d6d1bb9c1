package proxyimpl

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
)

// netListener is net.Listener, named for the listen function signature.
type netListener = net.Listener

// listenLoopback opens a listener on a free loopback port.
func listenLoopback(network string) (net.Listener, error) {
	return net.Listen(network, "127.0.0.1:0")
}

// get calls h and decodes its JSON answer.
func get(t *testing.T, h http.Handler) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("decoding %q: %v", rec.Body, err)
	}
	return rec.Code, body
}

// iptablesPacket is a TCP packet from a pod to dst:port.
func iptablesPacket(dst string, port uint16) iptrace.Packet {
	return iptrace.Packet{Source: "10.244.1.9", Destination: dst, Protocol: "tcp", DestinationPort: port}
}
