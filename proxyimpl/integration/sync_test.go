package integration

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
)

// fullSync does what the proxy does on a full sync of f into namespace ns:
// render the snapshot, write the full restore text, restore it, ensure the
// hook rules.
func fullSync(ctx context.Context, ns string, backend iptables.Backend, f *fixture) error {
	rs := render.Render(render.Config{}, f.snap)
	text, _ := render.WriteFull(rs, nil)
	if err := restore(ctx, ns, backend, text); err != nil {
		return err
	}
	for _, h := range render.Hooks() {
		args := append([]string{"netns", "exec", ns, "iptables-" + string(backend), "-w", "-t", string(h.Table), "-A", string(h.Chain)}, h.Args...)
		if out, err := exec.CombinedOutputLines(exec.DefaultCmder.CommandContext(ctx, "ip", args...)); err != nil {
			return fmt.Errorf("adding hook rule: %w: %s", err, strings.Join(out, "\n"))
		}
	}
	return nil
}

// restore applies data with the backend's iptables-restore in namespace ns.
func restore(ctx context.Context, ns string, backend iptables.Backend, data []byte) error {
	_, err := bareRestore(ctx, ns, backend, data)
	return err
}
