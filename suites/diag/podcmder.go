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
