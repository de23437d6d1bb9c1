package probe

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"
)

// ExternalProber probes from a container outside the cluster: a container
// of svccheck's own on the cluster's Docker network that is not a node. It
// runs `docker exec CONTAINER svccheck agent probe` on the local machine.
type ExternalProber struct {
	// Container is the client container's name.
	Container string
	// Cmder runs docker on the local machine.
	Cmder exec.Cmder
}

var _ Prober = (*ExternalProber)(nil)

// Probe implements Prober.
func (p *ExternalProber) Probe(ctx context.Context, req Request) (Result, error) {
	argv := append([]string{"exec", p.Container, Binary}, Args(req)...)
	var stdout, stderr bytes.Buffer
	cmd := p.Cmder.CommandContext(ctx, "docker", argv...)
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	if err := cmd.Run(); err != nil && stdout.Len() == 0 {
		return nil, fmt.Errorf("running docker %s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	res, err := Parse(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("probing %s from container %s: %w (stderr: %s)", req.Target, p.Container, err, strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

// Source implements Prober.
func (p *ExternalProber) Source() string { return "container " + p.Container }
