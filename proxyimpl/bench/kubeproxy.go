package main

import (
	"context"
	"fmt"
	"net"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	compbasemetrics "k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"
	utilsysctl "k8s.io/component-helpers/node/util/sysctl"
	"k8s.io/kubernetes/pkg/proxy"
	kubeproxyconfig "k8s.io/kubernetes/pkg/proxy/apis/config"
	"k8s.io/kubernetes/pkg/proxy/config"
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
// rules, and partial syncs of one changed Service. As in cmd/kube-proxy, the
// Proxier gets its objects through kube-proxy's informer configs, here over
// a fake clientset holding c, the same way svccheck's Proxier is fed.
func kubeProxyRun(ctx context.Context, mode kubeproxyconfig.ProxyMode, c cluster, partials int) (result, error) {
	proxymetrics.RegisterMetrics(mode)
	full := proxymetrics.SyncFullProxyRulesLatency.WithLabelValues(string(v1.IPv4Protocol))
	partial := proxymetrics.SyncPartialProxyRulesLatency.WithLabelValues(string(v1.IPv4Protocol))
	var res result
	for round := range 2 {
		p, err := newKubeProxy(ctx, mode)
		if err != nil {
			return res, fmt.Errorf("kube-proxy %s: %w", mode, err)
		}
		before := histogram(full)
		pctx, cancel := context.WithCancel(ctx)
		client := fake.NewClientset(c.objects()...)
		start(pctx, p, client)
		after, err := waitHistogram(ctx, full, before.count+1)
		if err != nil {
			cancel()
			return res, fmt.Errorf("kube-proxy %s first sync: %w", mode, err)
		}
		d := after.sub(before)
		if round == 0 {
			res.FirstFull = d
			cancel()
			continue
		}
		res.RestartFull = d
		go p.SyncLoop()
		for i := range partials {
			before := histogram(partial)
			n := (i*7919 + 1) % len(c.slices)
			c.slices[n] = slice(n, i+1)
			if _, err := client.DiscoveryV1().EndpointSlices(namespace).Update(ctx, c.slices[n], metav1.UpdateOptions{}); err != nil {
				cancel()
				return res, fmt.Errorf("updating a slice: %w", err)
			}
			after, err := waitHistogram(ctx, partial, before.count+1)
			if err != nil {
				cancel()
				return res, fmt.Errorf("kube-proxy %s partial sync: %w", mode, err)
			}
			res.Partial = append(res.Partial, after.sub(before))
		}
		cancel()
	}
	return res, nil
}

// start runs kube-proxy's Service and EndpointSlice informer configs over
// client with p as their handler, as cmd/kube-proxy does; the first sync
// comes when both have listed.
func start(ctx context.Context, p proxy.Provider, client *fake.Clientset) {
	factory := informers.NewSharedInformerFactory(client, 0)
	services := config.NewServiceConfig(ctx, factory.Core().V1().Services(), 0)
	services.RegisterEventHandler(p)
	slices := config.NewEndpointSliceConfig(ctx, factory.Discovery().V1().EndpointSlices(), 0)
	slices.RegisterEventHandler(p)
	p.OnTopologyChange(map[string]string{})
	go services.Run(ctx.Done())
	go slices.Run(ctx.Done())
	factory.Start(ctx.Done())
}

// hist is a histogram's count and sum.
type hist struct {
	count uint64
	sum   float64
}

func (h hist) sub(o hist) time.Duration {
	return time.Duration((h.sum - o.sum) * float64(time.Second))
}

// histogram reads one of kube-proxy's sync latency histograms, straight
// from the metric (gathering the registry would also run kube-proxy's
// nfacct collector, which fails in a bare namespace).
func histogram(m compbasemetrics.ObserverMetric) hist {
	count, _ := testutil.GetHistogramMetricCount(m)
	sum, _ := testutil.GetHistogramMetricValue(m)
	return hist{count: count, sum: sum}
}

// waitHistogram waits until m has count observations. There is no time
// limit here: the parent stops a child that runs past its limit, and says
// so.
func waitHistogram(ctx context.Context, m compbasemetrics.ObserverMetric, count uint64) (hist, error) {
	for {
		if h := histogram(m); h.count >= count {
			return h, nil
		}
		select {
		case <-ctx.Done():
			return hist{}, fmt.Errorf("waiting for sync %d: %w", count, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
