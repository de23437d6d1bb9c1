package proxyimpl

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/metrics"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// Sync brings the rules in line with the informers' view now, ignoring
// the minimum sync period: a full sync when none succeeded yet, after a
// failure, after a Node address change or once SyncPeriod has passed
// since the last full one, else a partial sync of the Services that
// changed. Before the informers have synced it does nothing, so the rules
// in place are never replaced by an empty view. The sync loop calls it;
// tests may call it directly.
func (p *Proxier) Sync(ctx context.Context) error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	log := klog.FromContext(ctx)
	if !p.informersSynced.Load() {
		log.V(2).Info("Not syncing: informers have not synced yet")
		return nil
	}
	start := p.cfg.Clock.Now()
	changes, needFull := p.tracker.take()
	full := p.rules == nil || needFull || start.Sub(p.lastFull) >= p.cfg.SyncPeriod
	mode := metrics.ModePartial
	if full {
		mode = metrics.ModeFull
	}
	res, err := p.apply(ctx, full, changes)
	end := p.cfg.Clock.Now()
	if err != nil {
		// The kernel state is unknown now: rewrite everything next time.
		p.rules = nil
		p.tracker.putBack(changes)
		p.cfg.Metrics.ObserveFailure(mode, end.Sub(start))
		if p.cfg.Health != nil {
			// An update is pending until a sync succeeds.
			p.cfg.Health.QueuedUpdate()
		}
		return fmt.Errorf("%s sync: %w", mode, err)
	}
	p.clearStaleFlows(ctx, res.snap)
	p.syncHealthChecks(ctx, res.snap)
	p.reportProblems(ctx, full, changes, res.problems)
	p.reportFailed(ctx, res.failed)
	if full {
		p.failed = res.failed
	} else {
		for name := range res.changed {
			delete(p.failed, name)
		}
	}
	p.snap, p.rules = res.snap, res.rules
	if full {
		p.lastFull = start
	}
	counts := map[string]metrics.TableCount{}
	for t, s := range res.stats {
		counts[string(t)] = metrics.TableCount{Rules: s.Rules, Chains: s.Chains, Kept: s.Kept}
	}
	p.cfg.Metrics.ObserveSync(mode, end.Sub(start), end, counts)
	for _, when := range changes {
		p.cfg.Metrics.ObserveProgrammingLatency(when, end)
	}
	if p.cfg.Health != nil {
		p.cfg.Health.Updated()
	}
	p.synced()
	log.V(2).Info("Synced proxy rules", "mode", mode, "servicePorts", len(res.snap.Ports),
		"changedServices", len(changes), "changedPorts", len(res.changed), "bytes", res.bytes,
		"duration", end.Sub(start))
	return nil
}

// syncResult is what apply computed and wrote.
type syncResult struct {
	snap     *snapshot.Snapshot
	rules    *render.RuleSet
	changed  map[snapshot.ServicePortName]bool
	problems map[types.NamespacedName][]snapshot.Problem
	stats    render.Stats
	bytes    int
	// failed maps the ports a full sync left out, the kernel refusing
	// their rules, to the error.
	failed map[snapshot.ServicePortName]string
}

// apply builds the model, renders it and writes it: everything, or the
// ports of the changed Services.
func (p *Proxier) apply(ctx context.Context, full bool, changes map[types.NamespacedName]time.Time) (*syncResult, error) {
	cfg := snapshot.Config{NodeName: p.cfg.NodeName, ClusterCIDRs: p.cfg.ClusterCIDRs, NodeIPs: p.currentNodeIPs()}
	rcfg := breaks()
	rcfg.MasqueradeMark = p.cfg.masqueradeMark()
	res := &syncResult{}
	var err error
	if full {
		if res.snap, res.problems, err = p.buildAll(cfg); err != nil {
			return nil, err
		}
		res.changed = snapshot.Changed(p.snap, res.snap)
		res.rules = render.Render(rcfg, res.snap)
		addSkipped(res.problems, res.rules.Skipped, full, changes)
		if err := p.writeFull(ctx, res); err != nil {
			return nil, err
		}
		return res, nil
	}
	if res.snap, res.changed, res.problems, err = p.buildChanged(cfg, changes); err != nil {
		return nil, err
	}
	res.rules = render.RenderChanged(rcfg, res.snap, p.rules, res.changed)
	// Ports the kernel refused at the last full sync stay out until they
	// change.
	for name := range p.failed {
		if !res.changed[name] {
			delete(res.rules.Services, name)
		}
	}
	addSkipped(res.problems, res.rules.Skipped, full, changes)
	if !render.SameDispatch(p.rules, res.rules) {
		// The number of Services left the window of the dispatch tree
		// in place: every dispatch rule moves to a new bucket chain.
		klog.FromContext(ctx).V(2).Info("Dispatch tree re-balanced, writing every chain", "servicePorts", len(res.snap.Ports), "bits", res.rules.DispatchBits)
		if err := p.writeFull(ctx, res); err != nil {
			return nil, err
		}
		return res, nil
	}
	var data []byte
	data, res.stats = render.WritePartial(p.rules, res.rules, res.changed)
	res.bytes = len(data)
	if len(data) > 0 {
		if err := p.ipt.Restore(ctx, data); err != nil {
			return nil, fmt.Errorf("restoring rules: %w", err)
		}
	}
	return res, nil
}

// writeFull writes res.rules over the tables as they are now, with the
// hooks into them that are missing. When the kernel refuses the restore,
// it finds the ports it refuses (isolate), writes the rules without them
// and records them in res.failed.
func (p *Proxier) writeFull(ctx context.Context, res *syncResult) error {
	data, err := p.fullText(ctx, res)
	if err != nil {
		return err
	}
	if err := p.ipt.Restore(ctx, data); err != nil {
		failed, ierr := p.isolate(ctx, res.rules, err)
		if ierr != nil {
			return fmt.Errorf("restoring rules: %w", ierr)
		}
		drop := map[snapshot.ServicePortName]bool{}
		for name := range failed {
			drop[name] = true
		}
		res.failed = failed
		res.rules = render.Without(res.rules, drop)
		if data, err = p.fullText(ctx, res); err != nil {
			return err
		}
		if err := p.ipt.Restore(ctx, data); err != nil {
			return fmt.Errorf("restoring rules without the %d ports the kernel refused: %w", len(failed), err)
		}
	}
	return nil
}

// fullText reads the tables as they are and returns the restore text of a
// full sync of res.rules over them, with the hooks that are missing
// inserted in its last transactions (render.WithHooks).
func (p *Proxier) fullText(ctx context.Context, res *syncResult) ([]byte, error) {
	existing, hooks, err := p.existingState(ctx)
	if err != nil {
		return nil, err
	}
	var data []byte
	if p.ipt.Backend() == iptables.BackendNFT {
		// iptables-nft restore time grows faster than linearly with
		// the size of one transaction, and each transaction costs a
		// walk of the live table; see render.BatchRules.
		data, res.stats = render.WriteFullBatched(res.rules, existing, render.BatchRules(existing))
	} else {
		data, res.stats = render.WriteFull(res.rules, existing)
	}
	data = render.WithHooks(data, missing(hooks))
	res.bytes = len(data)
	return data, nil
}

// addSkipped adds to problems, for reporting, the ports the rendering
// skipped: all of them after a full sync, else those of the changed
// Services (the others' problems are not rebuilt, so not reported again).
func addSkipped(problems map[types.NamespacedName][]snapshot.Problem, skipped map[snapshot.ServicePortName]string, full bool, changes map[types.NamespacedName]time.Time) {
	names := slices.SortedFunc(maps.Keys(skipped), snapshot.ServicePortName.Compare)
	for _, name := range names {
		nsn := types.NamespacedName{Namespace: name.Namespace, Name: name.Name}
		if _, ok := changes[nsn]; !full && !ok {
			continue
		}
		problems[nsn] = append(problems[nsn], snapshot.Problem{Kind: "Service", Namespace: nsn.Namespace, Name: nsn.Name, Message: skipped[name]})
	}
}

// buildAll models every Service in the informers' caches.
func (p *Proxier) buildAll(cfg snapshot.Config) (*snapshot.Snapshot, map[types.NamespacedName][]snapshot.Problem, error) {
	services, err := p.svcLister.List(labels.Everything())
	if err != nil {
		return nil, nil, fmt.Errorf("listing Services: %w", err)
	}
	slices, err := p.sliceLister.List(labels.Everything())
	if err != nil {
		return nil, nil, fmt.Errorf("listing EndpointSlices: %w", err)
	}
	snap, problems := snapshot.Build(cfg, services, slices)
	return snap, groupProblems(problems), nil
}

// buildChanged models the changed Services again and reuses the applied
// model for the others. It returns the ports that differ.
func (p *Proxier) buildChanged(cfg snapshot.Config, changes map[types.NamespacedName]time.Time) (*snapshot.Snapshot, map[snapshot.ServicePortName]bool, map[types.NamespacedName][]snapshot.Problem, error) {
	next := &snapshot.Snapshot{NodeName: p.snap.NodeName, ClusterCIDRs: p.snap.ClusterCIDRs, Ports: maps.Clone(p.snap.Ports)}
	old := map[types.NamespacedName][]snapshot.ServicePortName{}
	for name := range p.snap.Ports {
		nsn := types.NamespacedName{Namespace: name.Namespace, Name: name.Name}
		if _, ok := changes[nsn]; ok {
			old[nsn] = append(old[nsn], name)
			delete(next.Ports, name)
		}
	}
	changed := map[snapshot.ServicePortName]bool{}
	var problems []snapshot.Problem
	for nsn := range changes {
		ports, probs, err := p.buildService(cfg, nsn)
		if err != nil {
			return nil, nil, nil, err
		}
		problems = append(problems, probs...)
		for _, port := range ports {
			next.Ports[port.Name] = port
			if !port.Equal(p.snap.Ports[port.Name]) {
				changed[port.Name] = true
			}
		}
		for _, name := range old[nsn] {
			if _, ok := next.Ports[name]; !ok {
				changed[name] = true
			}
		}
	}
	return next, changed, groupProblems(problems), nil
}

// buildService models one Service from the caches; a Service that is gone
// has no ports.
func (p *Proxier) buildService(cfg snapshot.Config, nsn types.NamespacedName) ([]*snapshot.ServicePort, []snapshot.Problem, error) {
	svc, err := p.svcLister.Services(nsn.Namespace).Get(nsn.Name)
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("getting Service %s: %w", nsn, err)
	}
	objs, err := p.slicesByService.ByIndex(sliceServiceIndex, nsn.String())
	if err != nil {
		return nil, nil, fmt.Errorf("listing EndpointSlices of %s: %w", nsn, err)
	}
	slices := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if es, ok := o.(*discoveryv1.EndpointSlice); ok {
			slices = append(slices, es)
		}
	}
	ports, problems := snapshot.ServicePorts(cfg, svc, slices)
	return ports, problems, nil
}

// sliceServiceIndex names the index of EndpointSlices by "namespace/name"
// of the Service they belong to (their kubernetes.io/service-name label).
const sliceServiceIndex = "service"

// sliceService is the index function of sliceServiceIndex.
func sliceService(obj any) ([]string, error) {
	es, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := es.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{types.NamespacedName{Namespace: es.Namespace, Name: name}.String()}, nil
}

// groupProblems groups problems by Service.
func groupProblems(problems []snapshot.Problem) map[types.NamespacedName][]snapshot.Problem {
	out := map[types.NamespacedName][]snapshot.Problem{}
	for _, pr := range problems {
		nsn := types.NamespacedName{Namespace: pr.Namespace, Name: pr.Name}
		out[nsn] = append(out[nsn], pr)
	}
	return out
}

// existingState reads the nat and filter tables as they are now: their
// chains with the rules of svccheck's own and the rules in other chains
// that jump to svccheck's chains, the latter also as "table chain spec"
// in iptables-save's spelling.
func (p *Proxier) existingState(ctx context.Context) (*render.Existing, map[string]bool, error) {
	existing := &render.Existing{
		Chains: map[iptables.Table][]string{},
		Rules:  map[iptables.Table]map[string][]string{},
		Jumps:  map[iptables.Table][]render.Jump{},
	}
	hooks := map[string]bool{}
	// One save of every table: on iptables-nft each run fetches the whole
	// ruleset, so saving nat and filter apart costs half as much again.
	data, err := p.ipt.Save(ctx, iptables.TableAll, false)
	if err != nil {
		return nil, nil, fmt.Errorf("listing chains: %w", err)
	}
	parsed := parseSave(data)
	for _, t := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
		saved := parsed[t]
		if saved == nil {
			continue
		}
		existing.Chains[t] = saved.chains
		existing.Rules[t] = saved.own
		for _, h := range saved.hooks {
			hooks[string(t)+" "+h.chain+" "+h.spec] = true
			existing.Jumps[t] = append(existing.Jumps[t], render.Jump{Chain: h.chain, Spec: h.spec, Target: h.target})
		}
	}
	return existing, hooks, nil
}

// missing returns the hook rules that are not among present (as returned
// by existingState). Checking them against one iptables-save, rather than
// with "iptables -C" each, saves a whole-table read per hook on the legacy
// backend; a hook spelled differently than iptables-save prints it is
// merely ensured again.
func missing(present map[string]bool) []render.HookRule {
	var out []render.HookRule
	for _, h := range render.Hooks() {
		if !present[string(h.Table)+" "+string(h.Chain)+" "+h.Spec()] {
			out = append(out, h)
		}
	}
	return out
}
