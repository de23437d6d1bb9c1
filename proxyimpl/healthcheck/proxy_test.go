package healthcheck

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestProxyHealth(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := NewProxyHealth(time.Minute, clk)
	steps := []struct {
		name string
		do   func()
		want int
	}{
		{"start", func() {}, http.StatusServiceUnavailable},
		{"informers synced, no sync yet", h.InformersSynced, http.StatusServiceUnavailable},
		{"first sync", h.Updated, http.StatusOK},
		{"change queued", h.QueuedUpdate, http.StatusOK},
		{"change waits 30s", func() { clk.SetTime(clk.Now().Add(30 * time.Second)) }, http.StatusOK},
		{"another change queued", h.QueuedUpdate, http.StatusOK},
		{"oldest change waits 61s", func() { clk.SetTime(clk.Now().Add(31 * time.Second)) }, http.StatusServiceUnavailable},
		{"sync succeeds", h.Updated, http.StatusOK},
		{"an hour without changes", func() { clk.SetTime(clk.Now().Add(time.Hour)) }, http.StatusOK},
	}
	for _, s := range steps {
		s.do()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if rec.Code != s.want {
			t.Errorf("%s: status = %d, want %d (body %s)", s.name, rec.Code, s.want, rec.Body)
		}
		var st Status
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatalf("%s: decoding body: %v", s.name, err)
		}
		if st.Healthy != (s.want == http.StatusOK) || (!st.Healthy && st.Reason == "") {
			t.Errorf("%s: body %+v disagrees with status %d", s.name, st, rec.Code)
		}
	}
}
