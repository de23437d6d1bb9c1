package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/svccheck/svccheck/proxy"
)

// Create creates a kind cluster as opts says, with the chosen Service proxy
// Ready on every node and CoreDNS Ready, and returns it. A cluster of that
// name must not exist (ErrExists). When ctx is cancelled or a step fails, the
// half-made cluster is deleted unless opts.Retain; kind's own node creation
// cannot be interrupted, so cancellation takes effect when it returns.
func Create(ctx context.Context, opts Options) (*Cluster, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.Proxy == proxy.KubeProxyIPVS {
		if err := hostCheckIPVS(); err != nil {
			return nil, fmt.Errorf("creating cluster %s: %w", o.Name, err)
		}
	}
	prog := newProgress(o.Progress)
	p, err := newProviderLogging(ctx, kindLogger{prog})
	if err != nil {
		return nil, err
	}
	if ok, err := exists(p, o.Name); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("creating cluster %s: %w", o.Name, ErrExists)
	}
	bin, err := loadBinary(o.Binary)
	if err != nil {
		return nil, err
	}
	image, disableCNI, err := chooseNodeImage(ctx, localCmder(), o.NodeImage, prog)
	if err != nil {
		return nil, err
	}
	cgroupV1, err := hostIsCgroupV1()
	if err != nil {
		return nil, err
	}
	cfg := kindConfig(configParams{workers: o.Workers, proxy: o.Proxy, image: image, disableCNI: disableCNI, cgroupV1: cgroupV1})
	prog.step("%s: creating cluster %s: 1 control plane, %d workers, proxy %s, node image %s", StageCreate, o.Name, o.Workers, o.Proxy, image)
	c := &Cluster{Name: o.Name, Proxy: o.Proxy, ProxySource: "created by svccheck with --proxy " + string(o.Proxy), NodeImage: image, Image: bin.image, KubeconfigPath: o.Kubeconfig, provider: p}
	err = p.Create(o.Name,
		kindcluster.CreateWithV1Alpha4Config(cfg),
		kindcluster.CreateWithNodeImage(image),
		kindcluster.CreateWithRetain(o.Retain),
		kindcluster.CreateWithWaitForReady(0),
		kindcluster.CreateWithKubeconfigPath(o.Kubeconfig),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		return nil, fmt.Errorf("creating kind cluster %s: %w", o.Name, err)
	}
	prog.step("node containers up, Kubernetes control plane running")
	if err := c.setUp(ctx, prog, bin, disableCNI); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// Say why first; what was running when it happened comes after.
			err = fmt.Errorf("creating cluster %s: %w (while: %v)", o.Name, ctxErr, err) //nolint:errorlint // only the context error is the cause
		}
		if o.Retain {
			return nil, fmt.Errorf("%w (cluster %s retained: delete it with '%s')", err, o.Name, deleteCommand(o.Name, o.Kubeconfig))
		}
		prog.step("deleting the half-made cluster %s", o.Name)
		// The cleanup must run even when ctx is what was cancelled.
		if derr := c.Delete(context.WithoutCancel(ctx)); derr != nil {
			return nil, errors.Join(err, derr)
		}
		return nil, err
	}
	prog.step("cluster %s ready in %s (kubeconfig %s)", o.Name, prog.elapsed().Round(time.Second), c.KubeconfigPath)
	return c, nil
}

// setUp runs the steps after kind created the node containers.
func (c *Cluster) setUp(ctx context.Context, prog *progress, bin binary, disableCNI bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("creating cluster %s: %w", c.Name, err)
	}
	if err := c.loadClients(); err != nil {
		return err
	}
	if disableCNI {
		if err := c.setUpPodNetwork(ctx, prog); err != nil {
			return err
		}
	}
	if err := c.loadSvccheck(ctx, prog, bin); err != nil {
		return err
	}
	if c.Proxy == proxy.Svccheck {
		if err := c.deployProxy(ctx, prog); err != nil {
			return err
		}
	}
	return c.waitReady(ctx, prog)
}

// binary is the svccheck binary that goes onto the nodes.
type binary struct {
	path  string
	data  []byte
	image string
}

// loadBinary reads the static svccheck binary at path (the running
// executable when empty) and names its image.
func loadBinary(path string) (binary, error) {
	if path == "" {
		self, err := os.Executable()
		if err != nil {
			return binary{}, fmt.Errorf("finding the svccheck binary: %w", err)
		}
		path = self
	}
	if err := CheckStaticBinary(path); err != nil {
		return binary{}, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return binary{}, fmt.Errorf("reading the svccheck binary: %w", err)
	}
	image, err := ImageName(path)
	if err != nil {
		return binary{}, err
	}
	return binary{path: path, data: data, image: image}, nil
}
