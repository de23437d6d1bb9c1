package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 90, 4 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 90, 90 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
		}
	}
}

func TestNewLatencyStatsSortsAndCounts(t *testing.T) {
	s := NewLatencyStats("kind-worker", ms(300, 100, 200, 1000, -20), 3)
	want := LatencyStats{Node: "kind-worker", Count: 5, NeverAnswered: 3,
		P50: Duration(200 * time.Millisecond), P90: Duration(time.Second), P99: Duration(time.Second), Max: Duration(time.Second)}
	if s != want {
		t.Errorf("stats = %+v, want %+v", s, want)
	}
	if empty := NewLatencyStats("", nil, 2); empty.Count != 0 || empty.NeverAnswered != 2 || empty.Max != 0 {
		t.Errorf("stats of nothing = %+v", empty)
	}
}

func TestScaleReportRoundTripAndMarkdown(t *testing.T) {
	r := ScaleReport{Services: 200, ProxyMode: "svccheck", Budget: Duration(110 * time.Second), Interval: Duration(250 * time.Millisecond),
		Phases: []ScalePhase{{Name: "create", All: NewLatencyStats("", ms(1500, 2500), 1),
			Nodes: []LatencyStats{NewLatencyStats("n1", ms(1500), 0), NewLatencyStats("n2", ms(2500), 1)}}},
		Metrics: []NodeMetric{{Node: "n1", Metric: `svccheck_proxy_sync_duration_seconds{mode="full"}`, Count: 3, Mean: Duration(40 * time.Millisecond), P50: "0.032s", P99: "0.064s"}}}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"p99":2.5`) || !strings.Contains(string(js), `"budget":110`) {
		t.Errorf("durations are not in seconds: %s", js)
	}
	back, err := ScaleFromEntry(string(js))
	if err != nil {
		t.Fatal(err)
	}
	if back.Phases[0].All != r.Phases[0].All || back.Metrics[0] != r.Metrics[0] {
		t.Errorf("round trip changed the report:\n%+v\n%+v", back, r)
	}
	var md bytes.Buffer
	if err := WriteScaleMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--scale 200, svccheck",
		"| create | all | 2 | 1 | 1.500s | 2.500s | 2.500s | 2.500s |",
		"| create | n2 | 1 | 1 | 2.500s |",
		"| n1 | svccheck_proxy_sync_duration_seconds{mode=\"full\"} | 3 | 0.040s | 0.032s | 0.064s |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	md.Reset()
	kp := r
	kp.ProxyMode = "kube-proxy"
	kp.Phases = []ScalePhase{{Name: "create", All: NewLatencyStats("", ms(900), 0)}}
	if err := WriteScaleComparison(&md, []ScaleReport{r, kp}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Phase | Figure | svccheck | kube-proxy |", "| create | p99 | 2.500s | 0.900s |", "| create | never answered | 1 | 0 |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, md.String())
		}
	}
}

const metricsBefore = `# HELP svccheck_proxy_sync_duration_seconds How long a sync took.
# TYPE svccheck_proxy_sync_duration_seconds histogram
svccheck_proxy_sync_duration_seconds_bucket{mode="full",le="0.01"} 1
svccheck_proxy_sync_duration_seconds_bucket{mode="full",le="0.1"} 2
svccheck_proxy_sync_duration_seconds_bucket{mode="full",le="+Inf"} 2
svccheck_proxy_sync_duration_seconds_sum{mode="full"} 0.05
svccheck_proxy_sync_duration_seconds_count{mode="full"} 2
process_cpu_seconds_total 3
`

const metricsAfter = `svccheck_proxy_sync_duration_seconds_bucket{mode="full",le="0.01"} 1
svccheck_proxy_sync_duration_seconds_bucket{mode="full",le="0.1"} 10
svccheck_proxy_sync_duration_seconds_bucket{mode="full",le="+Inf"} 12
svccheck_proxy_sync_duration_seconds_sum{mode="full"} 3.05
svccheck_proxy_sync_duration_seconds_count{mode="full"} 12
kubeproxy_network_programming_duration_seconds_bucket{le="1"} 4
kubeproxy_network_programming_duration_seconds_bucket{le="+Inf"} 4
kubeproxy_network_programming_duration_seconds_sum 2
kubeproxy_network_programming_duration_seconds_count 4
`

func TestHistogramDeltaOverTheMeasurement(t *testing.T) {
	before := ParseHistograms(metricsBefore, ScaleMetrics)
	after := ParseHistograms(metricsAfter, ScaleMetrics)
	key := `svccheck_proxy_sync_duration_seconds{mode="full"}`
	if len(before) != 1 || before[key] == nil || before[key].Count != 2 || before[key].Buckets[0.1] != 2 {
		t.Fatalf("parsed %+v", before)
	}
	// Ten syncs between the scrapes, 3 s in all: eight up to 0.1 s, two
	// past the last bound.
	m := HistogramDelta("n1", key, before[key], after[key])
	want := NodeMetric{Node: "n1", Metric: key, Count: 10, Mean: Duration(300 * time.Millisecond), P50: "0.1s", P99: "+Inf"}
	if m != want {
		t.Errorf("delta = %+v, want %+v", m, want)
	}
	kp := "kubeproxy_network_programming_duration_seconds"
	m = HistogramDelta("n1", kp, before[kp], after[kp])
	if m.Count != 4 || m.Mean != Duration(500*time.Millisecond) || m.P50 != "1s" || m.P99 != "1s" {
		t.Errorf("delta of a histogram new since the first scrape = %+v", m)
	}
	if idle := HistogramDelta("n1", key, after[key], after[key]); idle.Count != 0 || idle.P50 != "" || idle.Mean != 0 {
		t.Errorf("delta of an idle histogram = %+v", idle)
	}
}
