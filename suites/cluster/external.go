package cluster

import (
	"context"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"
)

// ExternalClientLabel is the Docker label of svccheck's client containers
// outside a cluster; its value is the cluster's name. `svccheck cluster
// delete` removes the containers so labelled.
const ExternalClientLabel = "io.svccheck.external-client-of"

// ExternalClient is a container running the svccheck image on the
// cluster's Docker network that is not a node: a client outside the
// cluster, as a host on the nodes' network would be.
type ExternalClient struct {
	// Name is the container's name.
	Name string
	// IP is the container's address on the cluster's network.
	IP string
}

// ExternalClientName is the name of the client container StartExternalClient
// makes for cluster with suffix.
func ExternalClientName(cluster, suffix string) string {
	return cluster + "-svccheck-client-" + suffix
}

// ExternalNetwork returns the Docker network of the cluster's nodes (the
// control-plane container's first network, "kind" unless kind was told
// otherwise).
func (c *Cluster) ExternalNetwork(ctx context.Context) (string, error) {
	lines, err := exec.OutputLines(localCmder().CommandContext(ctx, "docker", "inspect", "-f",
		"{{range $k, $v := .NetworkSettings.Networks}}{{$k}}\n{{end}}", c.Name+"-control-plane"))
	if err != nil {
		return "", fmt.Errorf("finding the Docker network of cluster %s: %w", c.Name, err)
	}
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			return l, nil
		}
	}
	return "", fmt.Errorf("finding the Docker network of cluster %s: its control plane is on none", c.Name)
}

// StartExternalClient runs `svccheck agent serve` in a container of the
// svccheck image (loaded into the local Docker when missing) on the
// cluster's network, named ExternalClientName(c.Name, suffix) and labelled
// ExternalClientLabel, replacing a container of that name left by an
// earlier run. The caller removes it with RemoveExternalClient.
func (c *Cluster) StartExternalClient(ctx context.Context, suffix string) (*ExternalClient, error) {
	network, err := c.ExternalNetwork(ctx)
	if err != nil {
		return nil, err
	}
	bin, err := loadBinary("")
	if err != nil {
		return nil, err
	}
	if err := ensureLocalImage(ctx, bin); err != nil {
		return nil, err
	}
	name := ExternalClientName(c.Name, suffix)
	_ = RemoveExternalClient(ctx, name)
	if _, err := exec.Output(localCmder().CommandContext(ctx, "docker", "run", "-d", "--name", name, "--hostname", name,
		"--network", network, "--label", ExternalClientLabel+"="+c.Name, bin.image, "agent", "serve")); err != nil {
		return nil, fmt.Errorf("starting the client container %s: %w", name, runErrorText(err))
	}
	out, err := exec.Output(localCmder().CommandContext(ctx, "docker", "inspect", "-f",
		fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", network), name))
	ip := strings.TrimSpace(string(out))
	if err != nil || ip == "" {
		_ = RemoveExternalClient(context.WithoutCancel(ctx), name)
		return nil, fmt.Errorf("reading the address of the client container %s on network %s: %w (got %q)", name, network, runErrorText(err), ip)
	}
	return &ExternalClient{Name: name, IP: ip}, nil
}

// ensureLocalImage loads the svccheck image of bin into the local Docker
// unless it is there.
func ensureLocalImage(ctx context.Context, bin binary) error {
	if err := localCmder().CommandContext(ctx, "docker", "image", "inspect", bin.image).Run(); err == nil {
		return nil
	}
	cmd := localCmder().CommandContext(ctx, "docker", "load")
	if err := exec.RunWithStdinWriter(cmd, func(w io.Writer) error { return writeImageArchive(w, bin.image, bin.data) }); err != nil {
		return fmt.Errorf("loading image %s into the local Docker: %w", bin.image, runErrorText(err))
	}
	return nil
}

// RemoveExternalClient removes the client container name, if it exists.
func RemoveExternalClient(ctx context.Context, name string) error {
	if _, err := exec.Output(localCmder().CommandContext(ctx, "docker", "rm", "-f", "-v", name)); err != nil {
		if strings.Contains(runErrorText(err).Error(), "No such container") {
			return nil
		}
		return fmt.Errorf("removing the client container %s: %w", name, runErrorText(err))
	}
	return nil
}

// RemoveExternalClients removes every client container of the cluster
// called name (labelled ExternalClientLabel=name).
func RemoveExternalClients(ctx context.Context, name string) error {
	ids, err := exec.OutputLines(localCmder().CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label="+ExternalClientLabel+"="+name))
	if err != nil {
		return fmt.Errorf("listing the client containers of cluster %s: %w", name, runErrorText(err))
	}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		if err := RemoveExternalClient(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// runErrorText returns err with the output of a failed command in its text.
func runErrorText(err error) error {
	if re := exec.RunErrorForError(err); re != nil && len(re.Output) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(re.Output)))
	}
	return err
}
