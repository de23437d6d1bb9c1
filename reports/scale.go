package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/svccheck/svccheck/proxy"
)

// ScaleEntry names the report entry in which the Scale spec records its
// figures, a ScaleReport as JSON.
const ScaleEntry = "scale"

// FileScale holds the ScaleReport of a --scale run, beside report.json.
const FileScale = "scale.json"

// ScaleReport is what a --scale run measured: network programming latency
// per phase and node, and the proxy's own sync metrics over the run.
type ScaleReport struct {
	// Services is the number of Services of the burst (--scale N).
	Services int `json:"services"`
	// ProxyMode is the proxy the figures are of.
	ProxyMode proxy.Mode `json:"proxyMode,omitempty"`
	// Budget is how long a node had to answer a Service before it counted
	// as never answered.
	Budget Duration `json:"budget"`
	// Interval is the time between two probes of one pending Service from
	// one node: the figures' resolution.
	Interval Duration `json:"interval"`
	// Phases are the measured phases in order: the burst of new Services,
	// then the endpoint change of a sample of them.
	Phases []ScalePhase `json:"phases"`
	// Metrics are the proxy's histograms over the whole measurement, per
	// node.
	Metrics []NodeMetric `json:"metrics,omitempty"`
}

// ScalePhase is one phase's latencies: over all nodes, then per node.
type ScalePhase struct {
	// Name says what changed, e.g. "create".
	Name  string         `json:"name"`
	All   LatencyStats   `json:"all"`
	Nodes []LatencyStats `json:"nodes"`
}

// LatencyStats summarises latencies from an EndpointSlice being ready to
// the first answered connection.
type LatencyStats struct {
	// Node is the node probed from; empty for all nodes.
	Node string `json:"node,omitempty"`
	// Count is the number of Service and node pairs that answered.
	Count int `json:"count"`
	// NeverAnswered counts the pairs that did not answer within the budget.
	NeverAnswered int      `json:"neverAnswered"`
	P50           Duration `json:"p50"`
	P90           Duration `json:"p90"`
	P99           Duration `json:"p99"`
	Max           Duration `json:"max"`
}

// Duration is a time.Duration written in JSON as seconds.
type Duration time.Duration

// MarshalJSON writes d as seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(math.Round(time.Duration(d).Seconds()*1000) / 1000)
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decoding a duration: %w", err)
	}
	*d = Duration(s * float64(time.Second))
	return nil
}

// String formats d in seconds with milliseconds.
func (d Duration) String() string { return fmt.Sprintf("%.3fs", time.Duration(d).Seconds()) }

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method; 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// NewLatencyStats summarises the latencies of node (empty: all nodes) and
// the number of pairs that never answered.
func NewLatencyStats(node string, latencies []time.Duration, never int) LatencyStats {
	s := slices.Sorted(slices.Values(latencies))
	st := LatencyStats{Node: node, Count: len(s), NeverAnswered: never}
	if len(s) > 0 {
		st.P50, st.P90, st.P99 = Duration(Percentile(s, 50)), Duration(Percentile(s, 90)), Duration(Percentile(s, 99))
		st.Max = Duration(s[len(s)-1])
	}
	return st
}

// ScaleFromEntry decodes the ScaleReport of a scale report entry's JSON.
func ScaleFromEntry(js string) (ScaleReport, error) {
	var r ScaleReport
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		return r, fmt.Errorf("decoding the scale report: %w", err)
	}
	return r, nil
}

// WriteScaleMarkdown writes r as Markdown tables: latencies per phase and
// node, then the proxy's metrics.
func WriteScaleMarkdown(w io.Writer, r ScaleReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Network programming latency (--scale %d, %s)\n\n", r.Services, orUnknown(string(r.ProxyMode)))
	fmt.Fprintf(&b, "From each Service's EndpointSlice being ready (as a watch saw it) to the first answered connection from a client pod on each node; probes every %s per pending Service, budget %s.\n\n", r.Interval, r.Budget)
	b.WriteString("| Phase | Node | Count | Never answered | p50 | p90 | p99 | Max |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range r.Phases {
		for _, s := range append([]LatencyStats{p.All}, p.Nodes...) {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s | %s |\n", p.Name, orDefault(s.Node, "all"), s.Count, s.NeverAnswered, s.P50, s.P90, s.P99, s.Max)
		}
	}
	if len(r.Metrics) > 0 {
		b.WriteString("\nThe proxy's own histograms over the measurement (from each node's metrics endpoint):\n\n")
		b.WriteString("| Node | Metric | Count | Mean | p50 at most | p99 at most |\n|---|---|---:|---:|---:|---:|\n")
		for _, m := range r.Metrics {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", m.Node, inline(m.Metric), m.Count, m.Mean, orDefault(m.P50, "-"), orDefault(m.P99, "-"))
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteScaleComparison writes the all-node latencies of several runs side
// by side, one column per run.
func WriteScaleComparison(w io.Writer, runs []ScaleReport) error {
	if len(runs) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Network programming latency (--scale %d)\n\n| Phase | Figure |", runs[0].Services)
	for _, r := range runs {
		fmt.Fprintf(&b, " %s |", orUnknown(string(r.ProxyMode)))
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---:|", len(runs)) + "\n")
	for i, p := range runs[0].Phases {
		rows := []struct {
			name string
			get  func(LatencyStats) string
		}{
			{"count", func(s LatencyStats) string { return fmt.Sprint(s.Count) }},
			{"never answered", func(s LatencyStats) string { return fmt.Sprint(s.NeverAnswered) }},
			{"p50", func(s LatencyStats) string { return s.P50.String() }},
			{"p90", func(s LatencyStats) string { return s.P90.String() }},
			{"p99", func(s LatencyStats) string { return s.P99.String() }},
			{"max", func(s LatencyStats) string { return s.Max.String() }},
		}
		for _, row := range rows {
			fmt.Fprintf(&b, "| %s | %s |", p.Name, row.name)
			for _, r := range runs {
				v := "-"
				if i < len(r.Phases) {
					v = row.get(r.Phases[i].All)
				}
				fmt.Fprintf(&b, " %s |", v)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
