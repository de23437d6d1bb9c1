package proxyimpl

import (
	"context"
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
	counts := map[types.NamespacedName]int{}
	for _, sp := range snap.Ports {
		if !sp.ExternalPolicyLocal || sp.HealthCheckNodePort == 0 {
			continue
		}
		nsn := types.NamespacedName{Namespace: sp.Name.Namespace, Name: sp.Name.Name}
		ports[nsn] = sp.HealthCheckNodePort
		counts[nsn] = max(counts[nsn], len(sp.LocalEndpoints))
	}
	p.cfg.ServiceHealth.SyncEndpoints(counts)
	if err := p.cfg.ServiceHealth.SyncServices(ports); err != nil {
		klog.FromContext(ctx).Error(err, "Serving health check node ports")
	}
}
