package diag

import (
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"sigs.k8s.io/kind/pkg/exec"
)

// PodCmder runs commands in a pod's container through the API server (like
// kubectl exec), each command line prefixed by Prefix.
type PodCmder struct {
	Config    *rest.Config
	Clientset kubernetes.Interface
	Namespace string
	Pod       string
	Container string
	// Prefix goes before every command, e.g. the svccheck binary and
	// "dump exec-host --".
	Prefix []string
}

var _ exec.Cmder = (*PodCmder)(nil)

// Command returns a command that runs name with args in the pod.
func (p *PodCmder) Command(name string, args ...string) exec.Cmd {
	return p.CommandContext(context.Background(), name, args...)
}

// CommandContext returns a command that runs name with args in the pod
// until ctx ends.
func (p *PodCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	argv := append(append(append([]string(nil), p.Prefix...), name), args...)
	return &podCmd{p: p, ctx: ctx, argv: argv}
}

type podCmd struct {
	p              *PodCmder
	ctx            context.Context
	argv           []string
	stdin          io.Reader
	stdout, stderr io.Writer
}

var _ exec.Cmd = (*podCmd)(nil)

// SetEnv is not supported by exec through the API server; the environment
// is the container's.
func (c *podCmd) SetEnv(...string) exec.Cmd { return c }

func (c *podCmd) SetStdin(r io.Reader) exec.Cmd  { c.stdin = r; return c }
func (c *podCmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *podCmd) SetStderr(w io.Writer) exec.Cmd { c.stderr = w; return c }

// Run runs the command; a non-zero exit comes back as a *exec.RunError
// whose Inner has an ExitStatus method.
func (c *podCmd) Run() error {
	req := c.p.Clientset.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(c.p.Namespace).Name(c.p.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: c.p.Container,
			Command:   c.argv,
			Stdin:     c.stdin != nil,
			Stdout:    c.stdout != nil,
			Stderr:    c.stderr != nil,
		}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.p.Config, "GET", req.URL().String())
	if err != nil {
		return &exec.RunError{Command: c.argv, Inner: err}
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.p.Config, "POST", req.URL())
	if err != nil {
		return &exec.RunError{Command: c.argv, Inner: err}
	}
	executor, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return &exec.RunError{Command: c.argv, Inner: err}
	}
	err = executor.StreamWithContext(c.ctx, remotecommand.StreamOptions{Stdin: c.stdin, Stdout: c.stdout, Stderr: c.stderr})
	if err != nil {
		return &exec.RunError{Command: c.argv, Inner: err}
	}
	return nil
}

// SvccheckCommand is the command name that runs the svccheck binary itself
// on a node (probe.Binary): `svccheck agent probe ...` from the node's
// network.
const SvccheckCommand = "svccheck"

// hostPodCmder runs commands from a host pod as if on its node: the
// svccheck binary (SvccheckCommand) from the pod's own image, in the
// node's network namespace, since the node need not have it; every other
// command chrooted into the node's root (exec-host), so it is the node's
// own tool.
type hostPodCmder struct {
	direct, chrooted *PodCmder
}

var _ exec.Cmder = (*hostPodCmder)(nil)

// newHostPodCmder returns the Cmder of the host pod pod (Prefix unset).
func newHostPodCmder(pod PodCmder) *hostPodCmder {
	chrooted := pod
	chrooted.Prefix = append([]string{HostPodBinary}, HostPodExecArgs...)
	return &hostPodCmder{direct: &pod, chrooted: &chrooted}
}

// Command returns a command that runs name with args on the node.
func (h *hostPodCmder) Command(name string, args ...string) exec.Cmd {
	return h.CommandContext(context.Background(), name, args...)
}

// CommandContext returns a command that runs name with args on the node
// until ctx ends.
func (h *hostPodCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	if name == SvccheckCommand {
		return h.direct.CommandContext(ctx, HostPodBinary, args...)
	}
	return h.chrooted.CommandContext(ctx, name, args...)
}
