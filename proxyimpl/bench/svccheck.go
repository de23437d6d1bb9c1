package main

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/svccheck/svccheck/proxyimpl"
	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/metrics"
)

// svccheckRun measures svccheck's Proxier with backend on c: the first full
// sync into empty tables, a restarted Proxier's full sync over the intact
// rules, and partial syncs of one changed Service. It is fed through a fake
// clientset, so its informers see the objects as from an API server.
func svccheckRun(ctx context.Context, backend iptables.Backend, c cluster, partials int) (result, error) {
	var res result
	for round := range 2 {
		client := fake.NewClientset(c.objects()...)
		m := metrics.New()
		p, err := proxyimpl.New(client, iptables.New(iptables.LocalCmder(), backend), conntrack.New(), proxyimpl.Config{
			NodeName:      nodeName,
			NodeIPs:       []netip.Addr{nodeIP},
			ClusterCIDRs:  []netip.Prefix{netip.MustParsePrefix(clusterCIDR)},
			SyncPeriod:    time.Hour,
			MinSyncPeriod: 0,
			Metrics:       m,
		})
		if err != nil {
			return res, fmt.Errorf("svccheck proxier: %w", err)
		}
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(pctx) }()
		stop := func() { cancel(); <-done }
		if err := p.WaitForGeneration(ctx, 1); err != nil {
			stop()
			return res, err
		}
		d, _ := syncDuration(m, "full")
		if round == 0 {
			res.FirstFull = d
			stop()
			continue
		}
		res.RestartFull = d
		for i := range partials {
			_, count := syncDuration(m, "partial")
			before, _ := syncDuration(m, "partial")
			n := (i*7919 + 1) % len(c.slices)
			c.slices[n] = slice(n, i+1)
			if _, err := client.DiscoveryV1().EndpointSlices(namespace).Update(ctx, c.slices[n], metav1.UpdateOptions{}); err != nil {
				stop()
				return res, fmt.Errorf("updating a slice: %w", err)
			}
			if err := waitCount(ctx, m, "partial", count+1); err != nil {
				stop()
				return res, err
			}
			after, _ := syncDuration(m, "partial")
			res.Partial = append(res.Partial, after-before)
		}
		stop()
	}
	return res, nil
}

// syncDuration returns the summed duration and count of svccheck's syncs
// of mode, from its sync_duration_seconds histogram.
func syncDuration(m *metrics.Metrics, mode string) (time.Duration, uint64) {
	families, err := m.Registry().Gather()
	if err != nil {
		return 0, 0
	}
	for _, f := range families {
		if f.GetName() != metrics.Namespace+"_sync_duration_seconds" {
			continue
		}
		for _, metric := range f.GetMetric() {
			if label(metric, "mode") == mode {
				h := metric.GetHistogram()
				return time.Duration(h.GetSampleSum() * float64(time.Second)), h.GetSampleCount()
			}
		}
	}
	return 0, 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func waitCount(ctx context.Context, m *metrics.Metrics, mode string, count uint64) error {
	for {
		if _, n := syncDuration(m, mode); n >= count {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d %s syncs: %w", count, mode, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
