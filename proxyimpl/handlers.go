package proxyimpl

import (
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// unwrap returns the object inside a deletion tombstone.
func unwrap(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// onService records a change of a Service (added, updated or deleted).
func (p *Proxier) onService(obj any) {
	svc, ok := unwrap(obj).(*v1.Service)
	if !ok {
		return
	}
	name := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	p.log.V(4).Info("Service changed", "service", name)
	p.changed(name, p.cfg.Clock.Now())
}

// onEndpointSlice records a change of the Service an EndpointSlice
// belongs to, triggered at the slice's last-change-trigger-time when it
// has one.
func (p *Proxier) onEndpointSlice(obj any) {
	slice, ok := unwrap(obj).(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	svcName := slice.Labels[discoveryv1.LabelServiceName]
	if svcName == "" {
		return
	}
	name := types.NamespacedName{Namespace: slice.Namespace, Name: svcName}
	when := p.cfg.Clock.Now()
	if s, ok := slice.Annotations[v1.EndpointsLastChangeTriggerTime]; ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			when = t
		}
	}
	p.log.V(4).Info("EndpointSlice changed", "endpointSlice", klog.KObj(slice), "service", name)
	p.changed(name, when)
}

// onEndpointSliceUpdate records the change of a slice's Service, and of
// the Service it belonged to before when its service-name label changed.
func (p *Proxier) onEndpointSliceUpdate(old, cur any) {
	if o, ok := old.(*discoveryv1.EndpointSlice); ok {
		if c, ok := cur.(*discoveryv1.EndpointSlice); ok && o.Labels[discoveryv1.LabelServiceName] != c.Labels[discoveryv1.LabelServiceName] {
			p.onEndpointSlice(o)
		}
	}
	p.onEndpointSlice(cur)
}

// onNode notes new InternalIP addresses of this node, which need a full
// sync when the node IPs come from the Node.
func (p *Proxier) onNode(obj any) {
	node, ok := unwrap(obj).(*v1.Node)
	if !ok || node.Name != p.cfg.NodeName {
		return
	}
	p.events.Add(1)
	ips := nodeInternalIPs(node)
	p.nodeMu.Lock()
	same := slices.Equal(ips, p.nodeIPs)
	p.nodeIPs = ips
	p.nodeMu.Unlock()
	if same || len(p.cfg.NodeIPs) > 0 {
		return
	}
	p.log.V(2).Info("Node addresses changed", "node", node.Name, "internalIPs", ips)
	p.tracker.needFull()
	p.queued()
}

func (p *Proxier) changed(name types.NamespacedName, when time.Time) {
	p.events.Add(1)
	p.tracker.serviceChanged(name, when)
	p.queued()
}

// queued tells the health tracker about a waiting change and asks for a
// sync.
func (p *Proxier) queued() {
	if p.cfg.Health != nil && p.informersSynced.Load() {
		p.cfg.Health.QueuedUpdate()
	}
	p.runner.request()
}
