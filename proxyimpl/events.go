package proxyimpl

import (
	"context"
	"net/netip"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// EventReasonInvalidService is the reason of the Warning Event emitted on
// a Service the proxy cannot program, wholly or partly.
const EventReasonInvalidService = "SvccheckInvalidService"

// reportProblems logs, and emits an Event for, each Service whose problems
// differ from the ones last reported. A full sync covers every Service;
// a partial one only the changed ones.
func (p *Proxier) reportProblems(ctx context.Context, full bool, changes map[types.NamespacedName]time.Time, problems map[types.NamespacedName][]snapshot.Problem) {
	log := klog.FromContext(ctx)
	keys := map[types.NamespacedName]bool{}
	for nsn := range problems {
		keys[nsn] = true
	}
	if full {
		for k := range p.reported {
			ns, name, _ := strings.Cut(k, "/")
			keys[types.NamespacedName{Namespace: ns, Name: name}] = true
		}
	} else {
		for nsn := range changes {
			keys[nsn] = true
		}
	}
	for nsn := range keys {
		msgs := make([]string, 0, len(problems[nsn]))
		for _, pr := range problems[nsn] {
			msgs = append(msgs, pr.Message)
		}
		msg := strings.Join(msgs, "; ")
		if msg == p.reported[nsn.String()] {
			continue
		}
		if msg == "" {
			delete(p.reported, nsn.String())
			continue
		}
		p.reported[nsn.String()] = msg
		log.Info("Service cannot be programmed as specified", "service", nsn, "problems", msg)
		if p.cfg.Recorder == nil {
			continue
		}
		svc, err := p.svcLister.Services(nsn.Namespace).Get(nsn.Name)
		if err != nil {
			continue
		}
		p.cfg.Recorder.Eventf(svc, v1.EventTypeWarning, EventReasonInvalidService, "svccheck proxy on node %s: %s", p.cfg.NodeName, msg)
	}
}

// syncHealthChecks points the health check servers at the Services with a
// health check node port and tells them the local endpoint counts.
func (p *Proxier) syncHealthChecks(ctx context.Context, snap *snapshot.Snapshot) {
	if p.cfg.ServiceHealth == nil {
		return
	}
	ports := map[types.NamespacedName]int32{}
	for _, sp := range snap.Ports {
		if !sp.ExternalPolicyLocal || sp.HealthCheckNodePort == 0 {
			continue
		}
		ports[types.NamespacedName{Namespace: sp.Name.Namespace, Name: sp.Name.Name}] = sp.HealthCheckNodePort
	}
	p.cfg.ServiceHealth.SyncEndpoints(localReadyEndpoints(snap, ports))
	if err := p.cfg.ServiceHealth.SyncServices(ports); err != nil {
		klog.FromContext(ctx).Error(err, "Serving health check node ports")
	}
}

// localReadyEndpoints counts, per Service of services, the distinct
// addresses of its ready endpoints on this node over all its ports, as
// kube-proxy's health check does: a node whose local endpoints are all
// terminating (even if still serving) reports none, so load balancers
// stop sending it new connections.
func localReadyEndpoints(snap *snapshot.Snapshot, services map[types.NamespacedName]int32) map[types.NamespacedName]int {
	ips := map[types.NamespacedName]map[netip.Addr]bool{}
	for _, sp := range snap.Ports {
		nsn := types.NamespacedName{Namespace: sp.Name.Namespace, Name: sp.Name.Name}
		if _, ok := services[nsn]; !ok {
			continue
		}
		for _, ep := range sp.Endpoints {
			if !ep.Local || !ep.Ready {
				continue
			}
			if ips[nsn] == nil {
				ips[nsn] = map[netip.Addr]bool{}
			}
			ips[nsn][ep.IP] = true
		}
	}
	counts := make(map[types.NamespacedName]int, len(ips))
	for nsn, set := range ips {
		counts[nsn] = len(set)
	}
	return counts
}
