package healthcheck

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

// proxyState is a ProxyChecker with a settable answer.
type proxyState bool

func (p *proxyState) Healthy() bool { return bool(*p) }

func TestServiceHandler(t *testing.T) {
	web := types.NamespacedName{Namespace: "demo", Name: "web"}
	tests := []struct {
		name       string
		count      int
		proxy      *bool // nil: no ProxyChecker set
		wantStatus int
		wantBody   string
	}{
		{"local endpoints", 2, nil, http.StatusOK,
			`{"service":{"namespace":"demo","name":"web"},"localEndpoints":2,"serviceProxyHealthy":true}`},
		{"no local endpoints", 0, nil, http.StatusServiceUnavailable,
			`{"service":{"namespace":"demo","name":"web"},"localEndpoints":0,"serviceProxyHealthy":true}`},
		{"local endpoints, proxy healthy", 1, ptr(true), http.StatusOK,
			`{"service":{"namespace":"demo","name":"web"},"localEndpoints":1,"serviceProxyHealthy":true}`},
		{"local endpoints, proxy unhealthy", 1, ptr(false), http.StatusServiceUnavailable,
			`{"service":{"namespace":"demo","name":"web"},"localEndpoints":1,"serviceProxyHealthy":false}`},
		{"no local endpoints, proxy unhealthy", 0, ptr(false), http.StatusServiceUnavailable,
			`{"service":{"namespace":"demo","name":"web"},"localEndpoints":0,"serviceProxyHealthy":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServiceServer(nil)
			if tt.proxy != nil {
				st := proxyState(*tt.proxy)
				s.SetProxyHealth(&st)
			}
			s.SyncEndpoints(map[types.NamespacedName]int{web: tt.count})
			rec := httptest.NewRecorder()
			s.Handler(web).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantBody, rec.Body.String()); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			wantHeaders := map[string]string{
				"Content-Type":                     "application/json",
				"X-Content-Type-Options":           "nosniff",
				"X-Load-Balancing-Endpoint-Weight": strconv.Itoa(tt.count),
			}
			for k, v := range wantHeaders {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestServiceServerFollowsProxyHealth checks the answer of one Service
// with a local endpoint as the proxy's health changes: 503 while a change
// has waited longer than the timeout for a successful sync, 200 again
// after one.
func TestServiceServerFollowsProxyHealth(t *testing.T) {
	web := types.NamespacedName{Namespace: "demo", Name: "web"}
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := NewProxyHealth(time.Minute, clk)
	h.InformersSynced()
	h.Updated()
	s := NewServiceServer(nil)
	s.SetProxyHealth(h)
	s.SyncEndpoints(map[types.NamespacedName]int{web: 1})
	steps := []struct {
		name string
		do   func()
		want int
	}{
		{"synced", func() {}, http.StatusOK},
		{"sync fails, change pending", h.QueuedUpdate, http.StatusOK},
		{"pending 61s", func() { clk.SetTime(clk.Now().Add(61 * time.Second)) }, http.StatusServiceUnavailable},
		{"sync succeeds", h.Updated, http.StatusOK},
	}
	for _, st := range steps {
		st.do()
		rec := httptest.NewRecorder()
		s.Handler(web).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != st.want {
			t.Errorf("%s: status = %d, want %d (body %s)", st.name, rec.Code, st.want, rec.Body)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// loopbackListener maps every requested port to a free loopback port and
// remembers which real address serves which requested port.
type loopbackListener struct {
	mu    sync.Mutex
	addrs map[string]string
	fail  map[string]bool
}

func (l *loopbackListener) listen(network, address string) (net.Listener, error) {
	_, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if l.fail[port] {
		return nil, &net.OpError{Op: "listen", Net: network, Err: io.ErrClosedPipe}
	}
	ln, err := net.Listen(network, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.addrs[port] = ln.Addr().String()
	l.mu.Unlock()
	return ln, nil
}

func (l *loopbackListener) get(t *testing.T, port string) (int, map[string]any) {
	t.Helper()
	l.mu.Lock()
	addr := l.addrs[port]
	l.mu.Unlock()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET health check port %s: %v", port, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding body: %v", err)
	}
	return resp.StatusCode, body
}

func TestServiceServerLifecycle(t *testing.T) {
	web := types.NamespacedName{Namespace: "demo", Name: "web"}
	dns := types.NamespacedName{Namespace: "demo", Name: "dns"}
	ll := &loopbackListener{addrs: map[string]string{}, fail: map[string]bool{"30999": true}}
	s := NewServiceServer(ll.listen)
	defer s.Close()

	if err := s.SyncServices(map[types.NamespacedName]int32{web: 30100, dns: 30200}); err != nil {
		t.Fatalf("SyncServices: %v", err)
	}
	s.SyncEndpoints(map[types.NamespacedName]int{web: 1})
	if code, body := ll.get(t, "30100"); code != http.StatusOK || body["localEndpoints"] != float64(1) {
		t.Errorf("web: status %d body %v, want 200 with 1 local endpoint", code, body)
	}
	if code, _ := ll.get(t, "30200"); code != http.StatusServiceUnavailable {
		t.Errorf("dns: status %d, want 503", code)
	}

	// dns goes away, web moves to a port that cannot be opened.
	webAddr := ll.addrs["30100"]
	err := s.SyncServices(map[types.NamespacedName]int32{web: 30999})
	if err == nil || !strings.Contains(err.Error(), "demo/web") {
		t.Errorf("SyncServices error = %v, want one naming demo/web", err)
	}
	if diff := cmp.Diff(map[types.NamespacedName]int32{}, s.Ports()); diff != "" {
		t.Errorf("served ports (-want +got):\n%s", diff)
	}
	for _, addr := range []string{webAddr, ll.addrs["30200"]} {
		if resp, err := http.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			t.Errorf("server at %s still answers after its Service went away", addr)
		}
	}
}
