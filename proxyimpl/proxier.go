package proxyimpl

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// Label selectors of the informers, as kube-proxy's: Services handed to
// another proxy are skipped, and so are EndpointSlices labelled headless
// (the EndpointSlice controller labels the slices of headless Services;
// it never copies that label from a Service, so on a Service it means
// nothing).
const (
	ServiceLabelSelector       = "!" + snapshot.LabelServiceProxyName
	EndpointSliceLabelSelector = "!" + snapshot.LabelHeadless
)

// Proxier is svccheck's Service proxy for one node: it watches Services,
// EndpointSlices and its Node and keeps the node's iptables rules in line
// with them.
type Proxier struct {
	cfg     Config
	ipt     iptables.Interface
	ct      conntrack.Interface
	factory informers.SharedInformerFactory
	slices  informers.SharedInformerFactory
	nodes   informers.SharedInformerFactory

	svcLister   corelisters.ServiceLister
	sliceLister discoverylisters.EndpointSliceLister
	// slicesByService indexes the EndpointSlices by their Service
	// (sliceServiceIndex), so a partial sync finds a Service's slices
	// without a walk over all slices of its namespace.
	slicesByService cache.Indexer
	hasSynced       []cache.InformerSynced

	log             klog.Logger
	tracker         *changeTracker
	runner          *runner
	informersSynced atomic.Bool
	// events counts the informer notifications handled, for tests.
	events atomic.Int64

	nodeMu  sync.Mutex
	nodeIPs []netip.Addr // from the Node object

	// syncMu serializes syncs; the fields below it belong to the sync.
	syncMu   sync.Mutex
	snap     *snapshot.Snapshot // applied model, nil before the first sync
	rules    *render.RuleSet    // applied rules, nil when a full sync is due
	lastFull time.Time
	reported map[string]string                   // Service key -> problems last reported
	failed   map[snapshot.ServicePortName]string // ports the kernel refused at the last full sync

	genMu sync.Mutex
	gen   uint64
	genCh chan struct{}
}

// New returns a Proxier watching through client and programming ipt,
// clearing stale UDP flows through ct. It starts nothing: call Run.
func New(client kubernetes.Interface, ipt iptables.Interface, ct conntrack.Interface, cfg Config) (*Proxier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("configuring the proxy: %w", err)
	}
	p := &Proxier{
		cfg:      cfg,
		ipt:      ipt,
		ct:       ct,
		log:      klog.Background(),
		tracker:  newChangeTracker(),
		reported: map[string]string{},
		genCh:    make(chan struct{}),
	}
	p.factory = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = ServiceLabelSelector }))
	p.slices = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = EndpointSliceLabelSelector }))
	p.nodes = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", cfg.NodeName).String()
		}))
	svcInformer := p.factory.Core().V1().Services()
	sliceInformer := p.slices.Discovery().V1().EndpointSlices()
	nodeInformer := p.nodes.Core().V1().Nodes()
	p.svcLister = svcInformer.Lister()
	p.sliceLister = sliceInformer.Lister()
	if err := sliceInformer.Informer().AddIndexers(cache.Indexers{sliceServiceIndex: sliceService}); err != nil {
		return nil, fmt.Errorf("indexing EndpointSlices by Service: %w", err)
	}
	p.slicesByService = sliceInformer.Informer().GetIndexer()
	handlers := []struct {
		informer cache.SharedIndexInformer
		handler  cache.ResourceEventHandler
	}{
		{svcInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    p.onService,
			UpdateFunc: func(_, cur any) { p.onService(cur) },
			DeleteFunc: p.onService,
		}},
		{sliceInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    p.onEndpointSlice,
			UpdateFunc: p.onEndpointSliceUpdate,
			DeleteFunc: p.onEndpointSlice,
		}},
		{nodeInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    p.onNode,
			UpdateFunc: func(_, cur any) { p.onNode(cur) },
			DeleteFunc: func(any) {},
		}},
	}
	for _, h := range handlers {
		reg, err := h.informer.AddEventHandler(h.handler)
		if err != nil {
			return nil, fmt.Errorf("adding event handler: %w", err)
		}
		p.hasSynced = append(p.hasSynced, h.informer.HasSynced, reg.HasSynced)
	}
	p.runner = newRunner(p.Sync, cfg.MinSyncPeriod, cfg.SyncPeriod, cfg.Clock)
	if cfg.ServiceHealth != nil && cfg.Health != nil {
		// A node whose rules are stale must not attract load balancer
		// traffic: the health check node ports follow the proxy's health.
		cfg.ServiceHealth.SetProxyHealth(cfg.Health)
	}
	return p, nil
}

// Run starts the informers, waits (at most Config.InformerSyncTimeout) for
// their first list, then syncs the rules whenever something changes, until
// ctx is done. Rules stay in place when it returns. It returns an error
// only when the informers did not sync in time.
func (p *Proxier) Run(ctx context.Context) error {
	defer p.factory.Shutdown()
	defer p.slices.Shutdown()
	defer p.nodes.Shutdown()
	// Cancelled before the Shutdowns above, which wait for the informers.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := p.startInformers(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	p.runner.request()
	p.runner.loop(ctx)
	return nil
}

// startInformers starts the informers and waits for their first list.
// The caller shuts the factories down.
func (p *Proxier) startInformers(ctx context.Context) error {
	log := klog.FromContext(ctx)
	p.log = log
	p.factory.Start(ctx.Done())
	p.slices.Start(ctx.Done())
	p.nodes.Start(ctx.Done())
	waitCtx, cancel := context.WithTimeout(ctx, p.cfg.InformerSyncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(waitCtx.Done(), p.hasSynced...) {
		return fmt.Errorf("listing Services, EndpointSlices and Node %q did not finish within %v: check that the API server is reachable and that the proxy may list and watch them",
			p.cfg.NodeName, p.cfg.InformerSyncTimeout)
	}
	log.V(2).Info("Informers synced", "node", p.cfg.NodeName)
	p.informersSynced.Store(true)
	if p.cfg.Health != nil {
		p.cfg.Health.InformersSynced()
	}
	return nil
}

// SyncNow asks for a sync as soon as the minimum sync period allows; it
// does not wait for it. WaitForGeneration waits.
func (p *Proxier) SyncNow() {
	p.runner.request()
}

// Generation returns the number of successful syncs so far.
func (p *Proxier) Generation() uint64 {
	p.genMu.Lock()
	defer p.genMu.Unlock()
	return p.gen
}

// WaitForGeneration waits until at least gen syncs have succeeded, or ctx
// is done.
func (p *Proxier) WaitForGeneration(ctx context.Context, gen uint64) error {
	for {
		p.genMu.Lock()
		cur, ch := p.gen, p.genCh
		p.genMu.Unlock()
		if cur >= gen {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for sync %d (at %d): %w", gen, cur, ctx.Err())
		case <-ch:
		}
	}
}

// synced records a successful sync and wakes WaitForGeneration.
func (p *Proxier) synced() {
	p.genMu.Lock()
	defer p.genMu.Unlock()
	p.gen++
	close(p.genCh)
	p.genCh = make(chan struct{})
}

// currentNodeIPs returns the configured node IPs, else the Node's.
func (p *Proxier) currentNodeIPs() []netip.Addr {
	if len(p.cfg.NodeIPs) > 0 {
		return p.cfg.NodeIPs
	}
	p.nodeMu.Lock()
	defer p.nodeMu.Unlock()
	return p.nodeIPs
}

// nodeInternalIPs returns the parsed InternalIP addresses of node.
func nodeInternalIPs(node *v1.Node) []netip.Addr {
	var ips []netip.Addr
	for _, a := range node.Status.Addresses {
		if a.Type != v1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil {
			ips = append(ips, ip)
		}
	}
	return ips
}
