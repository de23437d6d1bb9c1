package cluster

import (
	"bytes"
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// loadSvccheck side-loads the svccheck image into every node's containerd
// and copies the svccheck binary to NodeBinaryPath on every node, so probes
// can run from the nodes themselves.
func (c *Cluster) loadSvccheck(ctx context.Context, prog *progress, bin binary) error {
	var archive bytes.Buffer
	if err := writeImageArchive(&archive, bin.image, bin.data); err != nil {
		return err
	}
	kindNodes, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return fmt.Errorf("listing the nodes of cluster %s: %w", c.Name, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range kindNodes {
		g.Go(func() error {
			if err := nodeutils.LoadImageArchive(n, bytes.NewReader(archive.Bytes())); err != nil {
				return fmt.Errorf("loading image %s on node %s: %w", bin.image, n, err)
			}
			if err := writeNodeFile(gctx, n, NodeBinaryPath, bytes.NewReader(bin.data), 0o755); err != nil {
				return fmt.Errorf("copying the svccheck binary to node %s: %w", n, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	prog.step("loaded image %s and %s on %d nodes", bin.image, NodeBinaryPath, len(kindNodes))
	return nil
}
