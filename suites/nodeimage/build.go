package nodeimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/suites/internal/heartbeat"
)

// builder carries the state of one Ensure call.
type builder struct {
	opts   Options
	cmder  exec.Cmder
	run    runner
	recipe recipe
	tag    string
	// work is a temporary directory removed when the build ends.
	work string
	// progress serializes progress lines from concurrent stages.
	progress sync.Mutex
	// heartbeatEvery is how often a running stage writes a "still running"
	// line; zero means defaultHeartbeat.
	heartbeatEvery time.Duration
}

// ensure builds the image unless Docker has it.
func (b *builder) ensure(ctx context.Context) (string, bool, error) {
	b.run = runner{cmder: b.cmder}
	r, err := recipeFor(b.opts.KubernetesVersion)
	if err != nil {
		return "", false, err
	}
	b.recipe = r
	b.tag = b.opts.Repository + ":" + r.KubernetesVersion + "-" + r.hash()
	if err := b.checkDocker(ctx); err != nil {
		return "", false, err
	}
	if ok, err := b.imageExists(ctx, b.tag); err != nil || ok {
		return b.tag, false, err
	}
	if err := b.checkTools(ctx); err != nil {
		return "", false, err
	}
	if err := b.build(ctx); err != nil {
		return "", false, fmt.Errorf("building node image %s: %w", b.tag, err)
	}
	return b.tag, true, nil
}

// build runs every stage of a node image build. The Go builds and the root
// file systems are made concurrently: one is CPU bound, the other waits on
// the network and the disk.
func (b *builder) build(ctx context.Context) (err error) {
	if err := os.MkdirAll(b.opts.CacheDir, 0o755); err != nil {
		return fmt.Errorf("creating cache directory: %w", err)
	}
	if err := checkFreeSpace(b.opts.CacheDir); err != nil {
		return err
	}
	work, err := os.MkdirTemp(b.opts.CacheDir, "work-")
	if err != nil {
		return fmt.Errorf("creating work directory: %w", err)
	}
	b.work = work
	defer func() {
		if rerr := b.removeTree(context.Background(), work); rerr != nil && err == nil {
			err = rerr
		}
	}()
	start := time.Now()
	binDir := filepath.Join(b.opts.CacheDir, "bin", b.recipe.KubernetesVersion)
	nodeTar, proxyTar, err := b.buildParts(ctx, binDir)
	if err != nil {
		return err
	}
	if err := b.assemble(ctx, binDir, nodeTar, proxyTar); err != nil {
		return err
	}
	b.progressf("built %s in %s\n", b.tag, time.Since(start).Round(time.Second))
	return nil
}

// buildParts builds the binaries into binDir and returns the root file
// system tarballs of the node and of kube-proxy's image.
func (b *builder) buildParts(ctx context.Context, binDir string) (nodeTar, proxyTar string, err error) {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return b.stages(gctx,
			step{"build pause", func(ctx context.Context) error { return b.buildPause(ctx, binDir) }},
			step{"build etcd " + b.recipe.EtcdVersion, func(ctx context.Context) error { return b.buildEtcd(ctx, binDir) }},
			step{"build Kubernetes " + b.recipe.KubernetesVersion, func(ctx context.Context) error { return b.buildKubernetes(ctx, binDir) }},
			step{"build CoreDNS " + b.recipe.CoreDNSVersion, func(ctx context.Context) error { return b.buildCoreDNS(ctx, binDir) }},
		)
	})
	g.Go(func() error {
		return b.stages(gctx,
			step{"node root filesystem", func(ctx context.Context) (err error) {
				nodeTar, err = b.rootfsTarball(ctx, "node", b.recipe.Packages)
				return err
			}},
			step{"kube-proxy root filesystem", func(ctx context.Context) (err error) {
				proxyTar, err = b.rootfsTarball(ctx, "kube-proxy", b.recipe.ProxyPackages)
				return err
			}},
		)
	})
	err = g.Wait()
	return nodeTar, proxyTar, err
}

// assemble makes the image archive and the node root filesystem, imports
// the latter into Docker and preloads the former into it, as b.tag.
func (b *builder) assemble(ctx context.Context, binDir, nodeTar, proxyTar string) error {
	specs := b.imageSpecs(proxyTar)
	archive := filepath.Join(b.work, "images.tar")
	nodeRoot := filepath.Join(b.work, "node")
	nodeRootTar := filepath.Join(b.work, "node.tar")
	tmpImage := b.opts.Repository + "-build:" + randomSuffix()
	defer b.removeImage(tmpImage)
	return b.stages(ctx,
		step{"assemble control-plane images", func(ctx context.Context) error {
			if err := b.checkImageList(ctx, binDir, specs); err != nil {
				return err
			}
			return b.writeImages(binDir, specs, archive)
		}},
		step{"node files", func(ctx context.Context) error {
			if err := b.untar(ctx, nodeTar, nodeRoot); err != nil {
				return err
			}
			if err := b.prepareNodeRootfs(ctx, nodeRoot, binDir); err != nil {
				return err
			}
			if err := b.tarDir(ctx, nodeRoot, nodeRootTar); err != nil {
				return err
			}
			return b.removeTree(ctx, nodeRoot)
		}},
		step{"docker import", func(ctx context.Context) error { return b.importRootfs(ctx, nodeRootTar, tmpImage) }},
		step{"preload images", func(ctx context.Context) error { return b.preload(ctx, tmpImage, archive, b.tag) }},
	)
}

// step is one stage of a build.
type step struct {
	name string
	fn   func(context.Context) error
}

// defaultHeartbeat is how often a running stage says it is still running.
const defaultHeartbeat = 30 * time.Second

// stages runs steps in order, writing a progress line when each starts, a
// heartbeat line while it runs, and a line with its elapsed time when it
// ends; it stops at the first error.
func (b *builder) stages(ctx context.Context, steps ...step) error {
	for _, s := range steps {
		if err := b.stage(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// stage runs one step with its progress lines.
func (b *builder) stage(ctx context.Context, s step) error {
	b.progressf("%-34s started\n", s.name)
	start := time.Now()
	stop := b.heartbeat(s.name, start)
	err := s.fn(ctx)
	stop()
	status := "done"
	if err != nil {
		status = "failed"
	}
	b.progressf("%-34s %s in %s\n", s.name, status, time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

// heartbeat writes a "still running" line for the stage called name every
// b.heartbeatEvery (defaultHeartbeat when zero) until stop is called. stop
// returns once no more heartbeat line can be written, so none follows the
// stage's last line.
func (b *builder) heartbeat(name string, start time.Time) (stop func()) {
	every := b.heartbeatEvery
	if every <= 0 {
		every = defaultHeartbeat
	}
	return heartbeat.Start(every, func(time.Duration) {
		b.progressf("%-34s still running (%s)\n", name, time.Since(start).Round(time.Second))
	})
}

// progressf writes one progress line. Stages run concurrently, so the lock
// keeps each line whole; every line goes out in a single Write.
func (b *builder) progressf(format string, args ...any) {
	b.progress.Lock()
	defer b.progress.Unlock()
	_, _ = fmt.Fprintf(b.opts.Progress, format, args...)
}
