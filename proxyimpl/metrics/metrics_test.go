package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestObserveSync(t *testing.T) {
	m := New()
	end := time.Unix(1700000000, 500000000)
	m.ObserveSync(ModeFull, 30*time.Millisecond, end, map[string]TableCount{
		"nat":    {Rules: 12, Chains: 5, Kept: 7},
		"filter": {Rules: 3, Chains: 2, Kept: 1},
	})
	m.ObserveSync(ModePartial, 2*time.Millisecond, end.Add(time.Second), map[string]TableCount{
		"nat": {Rules: 4, Chains: 2},
	})
	m.ObserveFailure(ModePartial, time.Millisecond)

	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"nat rules", testutil.ToFloat64(m.RulesWritten.WithLabelValues("nat")), 4},
		{"nat chains", testutil.ToFloat64(m.ChainsWritten.WithLabelValues("nat")), 2},
		{"filter rules", testutil.ToFloat64(m.RulesWritten.WithLabelValues("filter")), 3},
		{"nat chains kept", testutil.ToFloat64(m.ChainsKept.WithLabelValues("nat")), 0},
		{"filter chains kept", testutil.ToFloat64(m.ChainsKept.WithLabelValues("filter")), 1},
		{"last sync", testutil.ToFloat64(m.LastSyncTimestamp), 1700000001.5},
		{"partial failures", testutil.ToFloat64(m.SyncFailures.WithLabelValues(ModePartial)), 1},
		{"full failures", testutil.ToFloat64(m.SyncFailures.WithLabelValues(ModeFull)), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.SyncDuration); n != 2 {
		t.Errorf("sync duration series = %d, want 2 (full and partial)", n)
	}
}

func TestProgrammingLatency(t *testing.T) {
	m := New()
	applied := time.Unix(1700000000, 0)
	m.ObserveProgrammingLatency(applied.Add(-1500*time.Millisecond), applied)
	m.ObserveProgrammingLatency(time.Time{}, applied)            // unknown: ignored
	m.ObserveProgrammingLatency(applied.Add(time.Hour), applied) // skew: ignored
	const want = `
# HELP svccheck_proxy_network_programming_duration_seconds Time from an endpoint change to the proxy rules for it being applied.
# TYPE svccheck_proxy_network_programming_duration_seconds histogram
svccheck_proxy_network_programming_duration_seconds_bucket{le="0.01"} 0
svccheck_proxy_network_programming_duration_seconds_bucket{le="0.02"} 0
svccheck_proxy_network_programming_duration_seconds_bucket{le="0.04"} 0
svccheck_proxy_network_programming_duration_seconds_bucket{le="0.08"} 0
svccheck_proxy_network_programming_duration_seconds_bucket{le="0.16"} 0
svccheck_proxy_network_programming_duration_seconds_bucket{le="0.32"} 0
svccheck_proxy_network_programming_duration_seconds_bucket{le="0.64"} 0
svccheck_proxy_network_programming_duration_seconds_bucket{le="1.28"} 0
svccheck_proxy_network_programming_duration_seconds_bucket{le="2.56"} 1
svccheck_proxy_network_programming_duration_seconds_bucket{le="5.12"} 1
svccheck_proxy_network_programming_duration_seconds_bucket{le="10.24"} 1
svccheck_proxy_network_programming_duration_seconds_bucket{le="20.48"} 1
svccheck_proxy_network_programming_duration_seconds_bucket{le="40.96"} 1
svccheck_proxy_network_programming_duration_seconds_bucket{le="81.92"} 1
svccheck_proxy_network_programming_duration_seconds_bucket{le="163.84"} 1
svccheck_proxy_network_programming_duration_seconds_bucket{le="327.68"} 1
svccheck_proxy_network_programming_duration_seconds_bucket{le="+Inf"} 1
svccheck_proxy_network_programming_duration_seconds_sum 1.5
svccheck_proxy_network_programming_duration_seconds_count 1
`
	if err := testutil.CollectAndCompare(m.NetworkProgrammingLatency, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestHandler(t *testing.T) {
	m := New()
	m.ObserveSync(ModeFull, time.Millisecond, time.Unix(1700000000, 0), map[string]TableCount{"nat": {Rules: 1, Chains: 1}})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{
		`svccheck_proxy_sync_rules_written{table="nat"} 1`,
		`svccheck_proxy_last_sync_timestamp_seconds 1.7e+09`,
		`svccheck_proxy_sync_duration_seconds_count{mode="full"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics output lacks %q", want)
		}
	}
}
