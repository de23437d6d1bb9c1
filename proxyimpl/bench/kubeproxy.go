package main

import (
	"context"
	"fmt"
	"net"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/component-base/metrics/legacyregistry"
	utilsysctl "k8s.io/component-helpers/node/util/sysctl"
	"k8s.io/kubernetes/pkg/proxy"
	kubeproxyconfig "k8s.io/kubernetes/pkg/proxy/apis/config"
	"k8s.io/kubernetes/pkg/proxy/iptables"
	proxymetrics "k8s.io/kubernetes/pkg/proxy/metrics"
	"k8s.io/kubernetes/pkg/proxy/nftables"
	proxyutil "k8s.io/kubernetes/pkg/proxy/util"
	utiliptables "k8s.io/kubernetes/pkg/util/iptables"
	"k8s.io/utils/ptr"
)

// kubeProxyConfig is kube-proxy's configuration for the benchmark: its
// defaults, with syncs only when asked (no periodic resync within a run).
func kubeProxyConfig(mode kubeproxyconfig.ProxyMode) *kubeproxyconfig.KubeProxyConfiguration {
	return &kubeproxyconfig.KubeProxyConfiguration{
		Mode:          mode,
		SyncPeriod:    metav1.Duration{Duration: time.Hour},
		MinSyncPeriod: metav1.Duration{Duration: 0},
		IPTables: kubeproxyconfig.KubeProxyIPTablesConfiguration{
			MasqueradeBit: ptr.To[int32](14), LocalhostNodePorts: ptr.To(false),
		},
		NFTables: kubeproxyconfig.KubeProxyNFTablesConfiguration{MasqueradeBit: ptr.To[int32](14)},
	}
}

// newKubeProxy makes kube-proxy v1.37's own Proxier of mode (iptables or
// nftables), as cmd/kube-proxy does, in this process's network namespace.
// The iptables mode uses whichever iptables is first in PATH.
func newKubeProxy(ctx context.Context, mode kubeproxyconfig.ProxyMode) (proxy.Provider, error) {
	cfg := kubeProxyConfig(mode)
	detector := proxyutil.NewDetectLocalByCIDR(clusterCIDR)
	recorder := &events.FakeRecorder{}
	ip := net.ParseIP(nodeIP.String())
	switch mode {
	case kubeproxyconfig.ProxyModeIPTables:
		ipt := utiliptables.New(utiliptables.ProtocolIPv4)
		return iptables.NewProxier(ctx, cfg, v1.IPv4Protocol, ipt, utilsysctl.New(), detector, nodeName, ip, recorder, nil, false)
	case kubeproxyconfig.ProxyModeNFTables:
		return nftables.NewProxier(ctx, cfg, v1.IPv4Protocol, detector, nodeName, ip, recorder, nil, false)
	}
	return nil, fmt.Errorf("unknown kube-proxy mode %q", mode)
}

// kubeProxyRun measures kube-proxy's Proxier of mode on c: the first full
// sync into empty tables, a restarted Proxier's full sync over the intact
// rules, and partial syncs of one changed Service.
func kubeProxyRun(ctx context.Context, mode kubeproxyconfig.ProxyMode, c cluster, partials int) (result, error) {
	proxymetrics.RegisterMetrics(mode)
	var res result
	for round := range 2 {
		p, err := newKubeProxy(ctx, mode)
		if err != nil {
			return res, fmt.Errorf("kube-proxy %s: %w", mode, err)
		}
		before := histogram("kubeproxy_sync_full_proxy_rules_duration_seconds")
		feed(p, c)
		// OnEndpointSlicesSynced syncs at once, in this goroutine.
		after := histogram("kubeproxy_sync_full_proxy_rules_duration_seconds")
		if after.count != before.count+1 {
			return res, fmt.Errorf("kube-proxy %s made %d full syncs on start, want 1", mode, after.count-before.count)
		}
		d := after.sub(before)
		if round == 0 {
			res.FirstFull = d
			continue
		}
		res.RestartFull = d
		go p.SyncLoop()
		for i := range partials {
			before := histogram("kubeproxy_sync_partial_proxy_rules_duration_seconds")
			n := (i*7919 + 1) % len(c.slices)
			old := c.slices[n]
			c.slices[n] = slice(n, i+1)
			p.OnEndpointSliceUpdate(old, c.slices[n])
			p.Sync()
			after, err := waitHistogram(ctx, "kubeproxy_sync_partial_proxy_rules_duration_seconds", before.count+1)
			if err != nil {
				return res, fmt.Errorf("kube-proxy %s partial sync: %w", mode, err)
			}
			res.Partial = append(res.Partial, after.sub(before))
		}
	}
	return res, nil
}

// feed gives p the cluster as its informers would: the node's labels, every
// Service and EndpointSlice, then the synced signals.
func feed(p proxy.Provider, c cluster) {
	p.OnTopologyChange(map[string]string{})
	for _, s := range c.services {
		p.OnServiceAdd(s)
	}
	for _, s := range c.slices {
		p.OnEndpointSliceAdd(s)
	}
	p.OnServiceSynced()
	p.OnEndpointSlicesSynced()
}

// hist is a histogram's count and sum.
type hist struct {
	count uint64
	sum   float64
}

func (h hist) sub(o hist) time.Duration {
	return time.Duration((h.sum - o.sum) * float64(time.Second))
}

// histogram reads the histogram name from kube-proxy's metrics registry.
func histogram(name string) hist {
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		return hist{}
	}
	var h hist
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			h.count += m.GetHistogram().GetSampleCount()
			h.sum += m.GetHistogram().GetSampleSum()
		}
	}
	return h
}

// waitHistogram waits until histogram name has count observations.
func waitHistogram(ctx context.Context, name string, count uint64) (hist, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for {
		if h := histogram(name); h.count >= count {
			return h, nil
		}
		select {
		case <-ctx.Done():
			return hist{}, fmt.Errorf("waiting for %s to reach %d observations: %w", name, count, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
