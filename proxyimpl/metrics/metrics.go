package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "svccheck_proxy"

// Sync modes, the values of the "mode" label.
const (
	ModeFull    = "full"
	ModePartial = "partial"
)

// Metrics is the proxy's set of metrics, registered in their own registry.
type Metrics struct {
	registry *prometheus.Registry

	// SyncDuration observes how long each sync took, by mode (full or partial).
	SyncDuration *prometheus.HistogramVec
	// RulesWritten is the number of rules the last successful sync wrote,
	// by table.
	RulesWritten *prometheus.GaugeVec
	// ChainsWritten is the number of chains the last successful sync wrote,
	// by table.
	ChainsWritten *prometheus.GaugeVec
	// ChainsKept is the number of chains the last successful sync found
	// already holding their rules and left alone (full syncs only), by
	// table.
	ChainsKept *prometheus.GaugeVec
	// LastSyncTimestamp is the Unix time of the last successful sync.
	LastSyncTimestamp prometheus.Gauge
	// SyncFailures counts failed syncs, by mode.
	SyncFailures *prometheus.CounterVec
	// NetworkProgrammingLatency observes the time from an endpoint change
	// (its EndpointSlice's last-change-trigger-time, or when the proxy saw
	// it) to the rules for it being applied.
	NetworkProgrammingLatency prometheus.Histogram
}

// New returns a fresh Metrics with every metric registered, plus the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		SyncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "sync_duration_seconds",
			Help:      "How long a sync of the proxy rules took, by mode (full or partial).",
			Buckets:   prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"mode"}),
		RulesWritten: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "sync_rules_written",
			Help:      "Rules written by the last successful sync, by table.",
		}, []string{"table"}),
		ChainsWritten: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "sync_chains_written",
			Help:      "Chains written by the last successful sync, by table.",
		}, []string{"table"}),
		ChainsKept: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "sync_chains_kept",
			Help:      "Chains the last successful sync found already holding their rules and left alone (full syncs only), by table.",
		}, []string{"table"}),
		LastSyncTimestamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "last_sync_timestamp_seconds",
			Help:      "Unix time of the last successful sync of the proxy rules.",
		}),
		SyncFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "sync_failures_total",
			Help:      "Failed syncs of the proxy rules, by mode (full or partial).",
		}, []string{"mode"}),
		NetworkProgrammingLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "network_programming_duration_seconds",
			Help:      "Time from an endpoint change to the proxy rules for it being applied.",
			Buckets:   prometheus.ExponentialBuckets(0.01, 2, 16),
		}),
	}
	m.registry.MustRegister(
		m.SyncDuration, m.RulesWritten, m.ChainsWritten, m.ChainsKept, m.LastSyncTimestamp,
		m.SyncFailures, m.NetworkProgrammingLatency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry holding the metrics, for tests and for
// callers that want to add their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// TableCount is what one sync wrote to one table.
type TableCount struct {
	Rules  int
	Chains int
	// Kept is the number of chains left alone, already holding their rules.
	Kept int
}

// ObserveSync records a successful sync of mode that took d, finished at
// end, and wrote counts (by table name).
func (m *Metrics) ObserveSync(mode string, d time.Duration, end time.Time, counts map[string]TableCount) {
	m.SyncDuration.WithLabelValues(mode).Observe(d.Seconds())
	m.LastSyncTimestamp.Set(float64(end.UnixNano()) / 1e9)
	for table, c := range counts {
		m.RulesWritten.WithLabelValues(table).Set(float64(c.Rules))
		m.ChainsWritten.WithLabelValues(table).Set(float64(c.Chains))
		m.ChainsKept.WithLabelValues(table).Set(float64(c.Kept))
	}
}

// ObserveFailure records a failed sync of mode that took d.
func (m *Metrics) ObserveFailure(mode string, d time.Duration) {
	m.SyncDuration.WithLabelValues(mode).Observe(d.Seconds())
	m.SyncFailures.WithLabelValues(mode).Inc()
}

// ObserveProgrammingLatency records that a change first seen (or
// triggered) at changed was applied at applied. A zero changed or a negative
// latency (clock skew) is ignored.
func (m *Metrics) ObserveProgrammingLatency(changed, applied time.Time) {
	if changed.IsZero() || applied.Before(changed) {
		return
	}
	m.NetworkProgrammingLatency.Observe(applied.Sub(changed).Seconds())
}
