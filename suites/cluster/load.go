package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	"sigs.k8s.io/kind/pkg/exec"
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
	prog.step("%s: loading image %s and %s on %d nodes", StageLoad, bin.image, NodeBinaryPath, len(kindNodes))
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

// EnsureSvccheck makes sure every node has the svccheck image and binary
// built from binaryPath (the running executable when empty), loading them
// where the image is missing, and sets c.Image. A reused cluster needs it
// when svccheck was rebuilt since the cluster was created.
func (c *Cluster) EnsureSvccheck(ctx context.Context, binaryPath string, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	bin, err := loadBinary(binaryPath)
	if err != nil {
		return err
	}
	kindNodes, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return fmt.Errorf("listing the nodes of cluster %s: %w", c.Name, err)
	}
	missing := false
	for _, n := range kindNodes {
		lines, err := exec.OutputLines(n.CommandContext(ctx, "ctr", "--namespace=k8s.io", "images", "ls", "-q", "name=="+bin.image))
		if err != nil {
			return fmt.Errorf("listing images on node %s: %w", n, err)
		}
		if !slices.Contains(lines, bin.image) {
			missing = true
			break
		}
	}
	c.Image = bin.image
	if !missing {
		return nil
	}
	return c.loadSvccheck(ctx, newProgress(progress), bin)
}
