package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/kind/pkg/exec"
)

// podCIDRTimeout bounds the wait for the controller manager to give every
// node its pod CIDR.
const podCIDRTimeout = 2 * time.Minute

// setUpPodNetwork gives pods a network on a cluster whose node image has no
// CNI: a ptp conflist for the node's pod CIDR on every node, and a route to
// every other node's pod CIDR via that node.
func (c *Cluster) setUpPodNetwork(ctx context.Context, prog *progress) error {
	var nodes []Node
	status := ""
	err := wait.PollUntilContextTimeout(ctx, time.Second, podCIDRTimeout, true, func(ctx context.Context) (bool, error) {
		var err error
		nodes, err = c.Nodes(ctx)
		if err != nil {
			// The API server may still be starting: keep polling, and
			// report the last error on timeout.
			status = err.Error()
			return false, nil
		}
		var ok bool
		ok, status = podCIDRsAssigned(nodes)
		return ok, nil
	})
	if err != nil {
		const what = "waiting for every node to get a pod CIDR"
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w", what, ctxErr)
		}
		// The controller manager assigns pod CIDRs: its state, events and
		// logs say why it did not.
		diag := diagnoseBounded(ctx, func(ctx context.Context) string {
			return boundText(c.diagnose(ctx, "component=kube-controller-manager"), diagMax)
		})
		return fmt.Errorf("%s: timed out after %s (%s)%s", what, podCIDRTimeout, status, diag)
	}
	for _, n := range nodes {
		if err := configurePodNetwork(ctx, n, nodes); err != nil {
			return err
		}
	}
	prog.step("pod network configured on %d nodes (ptp CNI, routes between nodes)", len(nodes))
	return nil
}

// RestorePodNetwork writes every node's CNI configuration and routes again,
// as a CNI daemon would after a node restart: a restarted node container
// comes back with a fresh network namespace, without its routes to the
// other nodes' pod CIDRs, and possibly with a new address the others must
// route through.
func (c *Cluster) RestorePodNetwork(ctx context.Context) error {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return err
	}
	if ok, status := podCIDRsAssigned(nodes); !ok {
		return fmt.Errorf("restoring the pod network of cluster %s: %s", c.Name, status)
	}
	for _, n := range nodes {
		if err := configurePodNetwork(ctx, n, nodes); err != nil {
			return err
		}
	}
	return nil
}

// podCIDRsAssigned reports whether every node has a spec.podCIDR, and
// otherwise which nodes lack one.
func podCIDRsAssigned(nodes []Node) (bool, string) {
	if len(nodes) == 0 {
		return false, "no nodes found"
	}
	var missing, assigned []string
	for _, n := range nodes {
		if n.PodCIDR == "" {
			missing = append(missing, n.Name)
		} else {
			assigned = append(assigned, n.Name+" "+n.PodCIDR)
		}
	}
	if len(missing) == 0 {
		return true, ""
	}
	st := fmt.Sprintf("no spec.podCIDR on %d of %d nodes: %s", len(missing), len(nodes), strings.Join(missing, ", "))
	if len(assigned) > 0 {
		st += "; assigned: " + strings.Join(assigned, ", ")
	}
	return false, st
}

// configurePodNetwork writes node n's CNI configuration and its routes to
// the other nodes' pod CIDRs.
func configurePodNetwork(ctx context.Context, n Node, all []Node) error {
	conf, err := cniConflist(n.PodCIDR)
	if err != nil {
		return err
	}
	if err := writeNodeFile(ctx, n.Cmder, CNIConfigPath, bytes.NewReader([]byte(conf)), 0o644); err != nil {
		return fmt.Errorf("writing the CNI configuration on node %s: %w", n.Name, err)
	}
	routes, err := podRoutes(n.Name, all)
	if err != nil {
		return err
	}
	for _, r := range routes {
		if err := run(ctx, n.Cmder, "ip", r.routeArgs()...); err != nil {
			return fmt.Errorf("adding route %s on node %s: %w", r, n.Name, err)
		}
	}
	return nil
}

// writeNodeFile writes the contents of r to dest on a node, creating its
// directory, with the given mode.
func writeNodeFile(ctx context.Context, cmder exec.Cmder, dest string, r io.Reader, mode uint32) error {
	if err := run(ctx, cmder, "mkdir", "-p", path.Dir(dest)); err != nil {
		return err
	}
	tmp := dest + ".svccheck-tmp"
	if err := runStdin(ctx, cmder, r, "cp", "/dev/stdin", tmp); err != nil {
		return err
	}
	if err := run(ctx, cmder, "chmod", fmt.Sprintf("%o", mode), tmp); err != nil {
		return err
	}
	return run(ctx, cmder, "mv", "-f", tmp, dest)
}

// run runs a command through cmder; its error carries the command line and
// its output.
func run(ctx context.Context, cmder exec.Cmder, name string, args ...string) error {
	return runStdin(ctx, cmder, nil, name, args...)
}

func runStdin(ctx context.Context, cmder exec.Cmder, stdin io.Reader, name string, args ...string) error {
	var out bytes.Buffer
	cmd := cmder.CommandContext(ctx, name, args...).SetStdout(&out).SetStderr(&out)
	if stdin != nil {
		cmd.SetStdin(stdin)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s: %w: %s", exec.PrettyCommand(name, args...), err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
