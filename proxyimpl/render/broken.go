package render

import (
	"slices"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// broken returns p as the proxy broken on purpose sees it (Config's
// BreakTerminating and BreakETPLocal): a changed copy, or p itself when no
// breakage applies. p is not modified.
func (r *renderer) broken(p *snapshot.ServicePort) *snapshot.ServicePort {
	b := r.breaks
	terminating := b.BreakTerminating && (hasUnready(p.ClusterEndpoints) || hasUnready(p.LocalEndpoints))
	etpLocal := b.BreakETPLocal && p.ExternalPolicyLocal
	if !terminating && !etpLocal {
		return p
	}
	c := *p
	if terminating {
		// No fallback: only ready endpoints are usable.
		notReady := func(e snapshot.Endpoint) bool { return !e.Ready }
		c.ClusterEndpoints = slices.DeleteFunc(slices.Clone(p.ClusterEndpoints), notReady)
		c.LocalEndpoints = slices.DeleteFunc(slices.Clone(p.LocalEndpoints), notReady)
		c.HasEndpoints = len(c.ClusterEndpoints) > 0
	}
	if etpLocal {
		c.ExternalPolicyLocal = false
	}
	return &c
}

func hasUnready(eps []snapshot.Endpoint) bool {
	return slices.ContainsFunc(eps, func(e snapshot.Endpoint) bool { return !e.Ready })
}
