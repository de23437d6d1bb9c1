package reports

import (
	"bufio"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ScaleMetrics are the proxies' histograms a --scale run reads from every
// node: svccheck's proxy's and kube-proxy's sync durations and network
// programming latencies.
var ScaleMetrics = []string{
	"svccheck_proxy_sync_duration_seconds",
	"svccheck_proxy_network_programming_duration_seconds",
	"kubeproxy_sync_proxy_rules_duration_seconds",
	"kubeproxy_network_programming_duration_seconds",
}

// NodeMetric is one histogram of a node's proxy over a measurement: what
// was observed between two scrapes.
type NodeMetric struct {
	Node string `json:"node"`
	// Metric is the histogram's name with its labels (le aside).
	Metric string `json:"metric"`
	// Count is the number of observations; Mean their mean.
	Count int      `json:"count"`
	Mean  Duration `json:"mean"`
	// P50 and P99 are the upper bounds of the buckets holding the 50th
	// and 99th percentile observation, e.g. "0.128s"; "+Inf" past the
	// last bound, empty when nothing was observed.
	P50 string `json:"p50Bucket,omitempty"`
	P99 string `json:"p99Bucket,omitempty"`
}

// Histogram is a Prometheus histogram as scraped: cumulative bucket counts
// by upper bound, the sum and the count.
type Histogram struct {
	Buckets map[float64]float64
	Sum     float64
	Count   float64
}

// ParseHistograms reads the histograms named in names from a Prometheus
// text exposition, keyed by name and labels without le, e.g.
// `svccheck_proxy_sync_duration_seconds{mode="full"}`.
func ParseHistograms(text string, names []string) map[string]*Histogram {
	out := map[string]*Histogram{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(series, "{")
		labels = strings.TrimSuffix(labels, "}")
		for _, n := range names {
			suffix, found := strings.CutPrefix(name, n)
			if !found {
				continue
			}
			le, rest := splitLE(labels)
			key := n
			if rest != "" {
				key += "{" + rest + "}"
			}
			h := out[key]
			if h == nil {
				h = &Histogram{Buckets: map[float64]float64{}}
			}
			switch suffix {
			case "_bucket":
				bound, err := strconv.ParseFloat(le, 64)
				if err != nil {
					continue
				}
				h.Buckets[bound] = v
			case "_sum":
				h.Sum = v
			case "_count":
				h.Count = v
			default:
				continue
			}
			out[key] = h
		}
	}
	return out
}

// splitLE takes the le label out of a label list.
func splitLE(labels string) (le, rest string) {
	var keep []string
	for _, l := range strings.Split(labels, ",") {
		if v, ok := strings.CutPrefix(l, `le="`); ok {
			le = strings.TrimSuffix(v, `"`)
			continue
		}
		if l != "" {
			keep = append(keep, l)
		}
	}
	return le, strings.Join(keep, ",")
}

// HistogramDelta returns what node's histogram metric observed between the
// scrapes before and after (before may be nil: nothing observed yet).
func HistogramDelta(node, metric string, before, after *Histogram) NodeMetric {
	if before == nil {
		before = &Histogram{}
	}
	m := NodeMetric{Node: node, Metric: metric, Count: int(after.Count - before.Count)}
	if m.Count > 0 {
		m.Mean = Duration((after.Sum - before.Sum) / float64(m.Count) * 1e9)
	}
	bounds := slices.Sorted(func(yield func(float64) bool) {
		for b := range after.Buckets {
			if !yield(b) {
				return
			}
		}
	})
	quantile := func(q float64) string {
		if m.Count == 0 {
			return ""
		}
		rank := math.Ceil(q * float64(m.Count))
		for _, b := range bounds {
			if after.Buckets[b]-before.Buckets[b] >= rank {
				return formatBound(b)
			}
		}
		return formatBound(math.Inf(1))
	}
	m.P50, m.P99 = quantile(0.5), quantile(0.99)
	return m
}

// formatBound formats a bucket bound in seconds.
func formatBound(b float64) string {
	if math.IsInf(b, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(b, 'g', 4, 64) + "s"
}
