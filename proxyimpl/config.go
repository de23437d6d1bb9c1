package proxyimpl

import (
	"fmt"
	"net/netip"
	"time"

	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/svccheck/svccheck/proxyimpl/healthcheck"
	"github.com/svccheck/svccheck/proxyimpl/metrics"
)

// Defaults of Config.
const (
	DefaultMinSyncPeriod = time.Second
	DefaultSyncPeriod    = time.Hour
	DefaultMasqueradeBit = 14
	// DefaultInformerSyncTimeout bounds the wait for the first list of
	// Services, EndpointSlices and the Node.
	DefaultInformerSyncTimeout = time.Minute
)

// Config configures a Proxier. Zero values mean the defaults.
type Config struct {
	// NodeName is this node's name (the Node object's name).
	NodeName string
	// NodeIPs are this node's addresses; empty means the Node object's
	// InternalIP addresses.
	NodeIPs []netip.Addr
	// ClusterCIDRs are the pod network's CIDRs (the first IPv4 one decides
	// masquerading of cluster IP traffic).
	ClusterCIDRs []netip.Prefix
	// MasqueradeBit is the fwmark bit (0-31) marking packets to masquerade;
	// nil means DefaultMasqueradeBit.
	MasqueradeBit *int
	// MinSyncPeriod is the least time between two syncs; a burst of changes
	// within it is applied in one sync.
	MinSyncPeriod time.Duration
	// SyncPeriod is the longest time between two syncs; a sync that comes
	// due after SyncPeriod without a full sync rewrites every rule.
	SyncPeriod time.Duration
	// InformerSyncTimeout bounds Run's wait for the informers' first list.
	InformerSyncTimeout time.Duration

	// Metrics receives the sync metrics; nil means a private set.
	Metrics *metrics.Metrics
	// Health is told about syncs, for /healthz; may be nil.
	Health *healthcheck.ProxyHealth
	// ServiceHealth serves the health check node ports; may be nil. New
	// ties its answers to Health (503 while the proxy is unhealthy).
	ServiceHealth *healthcheck.ServiceServer
	// Recorder emits Events on Services the proxy cannot program; may be
	// nil.
	Recorder record.EventRecorder
	// Clock is the clock of the sync runner and the metrics; nil means the
	// real clock.
	Clock clock.WithTicker
}

// withDefaults returns cfg with defaults filled in, or an error for an
// invalid setting.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.NodeName == "" {
		return cfg, fmt.Errorf("node name is empty")
	}
	if cfg.MasqueradeBit == nil {
		bit := DefaultMasqueradeBit
		cfg.MasqueradeBit = &bit
	}
	if b := *cfg.MasqueradeBit; b < 0 || b > 31 {
		return cfg, fmt.Errorf("masquerade bit %d out of range 0-31", b)
	}
	if cfg.MinSyncPeriod < 0 || cfg.SyncPeriod < 0 {
		return cfg, fmt.Errorf("negative sync period")
	}
	if cfg.MinSyncPeriod == 0 {
		cfg.MinSyncPeriod = DefaultMinSyncPeriod
	}
	if cfg.SyncPeriod == 0 {
		cfg.SyncPeriod = DefaultSyncPeriod
	}
	if cfg.SyncPeriod < cfg.MinSyncPeriod {
		return cfg, fmt.Errorf("sync period %v is shorter than the minimum sync period %v", cfg.SyncPeriod, cfg.MinSyncPeriod)
	}
	if cfg.InformerSyncTimeout == 0 {
		cfg.InformerSyncTimeout = DefaultInformerSyncTimeout
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return cfg, nil
}

// masqueradeMark is the fwmark value of the masquerade bit.
func (cfg Config) masqueradeMark() uint32 {
	return uint32(1) << uint(*cfg.MasqueradeBit)
}
