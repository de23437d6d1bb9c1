package integration

import (
	"context"
	"fmt"
	"time"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
)

// syncTimes splits the time of a full sync into its parts.
type syncTimes struct {
	render, restore, hooks time.Duration
}

// add sums two syncTimes.
func (s syncTimes) add(o syncTimes) syncTimes {
	return syncTimes{s.render + o.render, s.restore + o.restore, s.hooks + o.hooks}
}

// fullSync does what the proxy does on a full sync of f into namespace ns,
// through svccheck's iptables runner: render the snapshot, write the full
// restore text, restore it, ensure the hook rules. It returns how long
// each part took.
func fullSync(ctx context.Context, ns string, backend iptables.Backend, f *fixture) (syncTimes, error) {
	var st syncTimes
	ipt := iptables.New(iptables.NetNSCmder(ns), backend)
	start := time.Now()
	rs := render.Render(render.Config{}, f.snap)
	// As the controller does: batched transactions on nft, one on legacy.
	text, _ := render.WriteFull(rs, nil)
	if backend == iptables.BackendNFT {
		text, _ = render.WriteFullBatched(rs, nil, render.DefaultBatchRules)
	}
	st.render = time.Since(start)
	start = time.Now()
	if err := ipt.Restore(ctx, text); err != nil {
		return st, fmt.Errorf("full sync: %w", err)
	}
	st.restore = time.Since(start)
	start = time.Now()
	for _, h := range render.Hooks() {
		if _, err := ipt.EnsureRule(ctx, h.Table, h.Chain, h.Args...); err != nil {
			return st, fmt.Errorf("full sync: %w", err)
		}
	}
	st.hooks = time.Since(start)
	return st, nil
}

// restore applies data through svccheck's iptables runner in namespace ns.
func restore(ctx context.Context, ns string, backend iptables.Backend, data []byte) error {
	return iptables.New(iptables.NetNSCmder(ns), backend).Restore(ctx, data)
}
