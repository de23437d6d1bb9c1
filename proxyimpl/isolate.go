package proxyimpl

import (
	"context"
	"errors"
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// EventReasonFailedToProgram is the reason of the Warning Event emitted on
// a Service whose rules the kernel refused: the proxy programs the other
// Services without it.
const EventReasonFailedToProgram = "SvccheckFailedToProgram"

// maxProbes bounds the probe restores of one isolation: enough to find a
// few bad ports among tens of thousands.
const maxProbes = 128

// isolator finds, by restoring halves of a failing set of ports, the ports
// whose rules the kernel refuses.
type isolator struct {
	p      *Proxier
	probes int
	// bad maps each refused port to the error of its own probe.
	bad map[snapshot.ServicePortName]string
}

// isolate is called after the full restore of rs failed with err. It
// finds the ports the kernel refuses and returns them with the reasons;
// it returns err itself when it cannot tell (the failure blames no input
// line, as a held xtables lock does; the shared base is refused; nothing
// alone is; or it took too many probes).
func (p *Proxier) isolate(ctx context.Context, rs *render.RuleSet, err error) (map[snapshot.ServicePortName]string, error) {
	if !blamesLine(err) {
		return nil, err
	}
	if rerr := p.ipt.Restore(ctx, render.WriteProbeBase(rs)); rerr != nil {
		return nil, err
	}
	ports := make([]*render.ServiceRules, 0, len(rs.Services))
	for _, sr := range rs.Services {
		ports = append(ports, sr)
	}
	slices.SortFunc(ports, func(a, b *render.ServiceRules) int { return a.Name.Compare(b.Name) })
	is := &isolator{p: p, bad: map[snapshot.ServicePortName]string{}}
	if ok, perr := is.search(ctx, ports); ok || perr != nil || len(is.bad) == 0 {
		return nil, err
	}
	return is.bad, nil
}

// search probes ports and, when the kernel refuses them, each half; it
// reports whether ports passed as a whole. It fails only when it ran out
// of probes.
func (is *isolator) search(ctx context.Context, ports []*render.ServiceRules) (bool, error) {
	if len(ports) == 0 {
		return true, nil
	}
	if is.probes >= maxProbes {
		return false, fmt.Errorf("no culprit found within %d probes", maxProbes)
	}
	is.probes++
	err := is.p.ipt.Restore(ctx, render.WriteProbe(ports))
	if err == nil {
		return true, nil
	}
	if !blamesLine(err) {
		return false, fmt.Errorf("probing %d ports: %w", len(ports), err)
	}
	if len(ports) == 1 {
		is.bad[ports[0].Name] = err.Error()
		return false, nil
	}
	half := len(ports) / 2
	if _, err := is.search(ctx, ports[:half]); err != nil {
		return false, err
	}
	_, err = is.search(ctx, ports[half:])
	return false, err
}

// blamesLine reports whether err is a restore that iptables-restore
// failed at a line of its input, rather than, say, for a lock it could
// not take.
func blamesLine(err error) bool {
	var rerr *iptables.RestoreError
	return errors.As(err, &rerr)
}

// reportFailed logs the ports the kernel refused and emits a Warning Event
// on each Service with a port that was not refused at the last report.
func (p *Proxier) reportFailed(ctx context.Context, failed map[snapshot.ServicePortName]string) {
	log := klog.FromContext(ctx)
	names := make([]snapshot.ServicePortName, 0, len(failed))
	for name := range failed {
		names = append(names, name)
	}
	slices.SortFunc(names, snapshot.ServicePortName.Compare)
	for _, name := range names {
		if _, seen := p.failed[name]; seen {
			continue
		}
		log.Error(nil, "Kernel refused a Service port's rules; programmed the others without it", "servicePort", name, "error", failed[name])
		if p.cfg.Recorder == nil {
			continue
		}
		svc, err := p.svcLister.Services(name.Namespace).Get(name.Name)
		if err != nil {
			continue
		}
		p.cfg.Recorder.Eventf(svc, v1.EventTypeWarning, EventReasonFailedToProgram,
			"svccheck proxy on node %s: the kernel refused the rules of port %s; the other Services are programmed: %s", p.cfg.NodeName, name, failed[name])
	}
}
