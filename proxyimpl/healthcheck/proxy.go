package healthcheck

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ProxyHealth tracks whether the proxy is keeping its rules up to date and
// serves it as /healthz: healthy once the informers have synced and a sync
// has succeeded, and as long as no change has waited longer than the
// timeout for a successful sync. It is safe for concurrent use.
type ProxyHealth struct {
	clock   clock.PassiveClock
	timeout time.Duration

	mu              sync.Mutex
	informersSynced bool
	lastUpdated     time.Time // last successful sync
	oldestQueued    time.Time // oldest change not yet applied; zero if none
}

// NewProxyHealth returns a ProxyHealth that reports unhealthy when a change
// waits longer than timeout. clk may be nil for the real clock.
func NewProxyHealth(timeout time.Duration, clk clock.PassiveClock) *ProxyHealth {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &ProxyHealth{clock: clk, timeout: timeout}
}

// InformersSynced records that the informers have synced.
func (h *ProxyHealth) InformersSynced() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.informersSynced = true
}

// QueuedUpdate records that a change is waiting for a sync.
func (h *ProxyHealth) QueuedUpdate() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.oldestQueued.IsZero() {
		h.oldestQueued = h.clock.Now()
	}
}

// Updated records a successful sync that applied every queued change.
func (h *ProxyHealth) Updated() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastUpdated = h.clock.Now()
	h.oldestQueued = time.Time{}
}

// Status is the proxy's health, as /healthz reports it in JSON.
type Status struct {
	// Healthy is the verdict.
	Healthy bool `json:"healthy"`
	// Reason explains an unhealthy verdict.
	Reason string `json:"reason,omitempty"`
	// InformersSynced reports whether the informers have synced.
	InformersSynced bool `json:"informersSynced"`
	// LastUpdated is the time of the last successful sync (zero if none).
	LastUpdated time.Time `json:"lastUpdated"`
	// CurrentTime is when the status was taken.
	CurrentTime time.Time `json:"currentTime"`
}

// Status returns the current health.
func (h *ProxyHealth) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	st := Status{InformersSynced: h.informersSynced, LastUpdated: h.lastUpdated, CurrentTime: now}
	switch {
	case !h.informersSynced:
		st.Reason = "informers have not synced"
	case h.lastUpdated.IsZero():
		st.Reason = "no successful sync yet"
	case !h.oldestQueued.IsZero() && now.Sub(h.oldestQueued) > h.timeout:
		st.Reason = "a change has waited " + now.Sub(h.oldestQueued).Round(time.Second).String() + " for a successful sync"
	default:
		st.Healthy = true
	}
	return st
}

// Healthy reports whether the proxy is healthy, as Status does: the
// ServiceServer answers 503 on every health check node port while it is
// not, so load balancers move traffic away from a node whose rules are
// stale.
func (h *ProxyHealth) Healthy() bool {
	return h.Status().Healthy
}

// ServeHTTP answers 200 when healthy and 503 otherwise, with the Status as
// JSON.
func (h *ProxyHealth) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	st := h.Status()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if st.Healthy {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	body, _ := json.Marshal(st)
	_, _ = w.Write(body)
}
