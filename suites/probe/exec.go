package probe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"sigs.k8s.io/kind/pkg/exec"
)

// Binary is the path of the svccheck binary inside the agent image and on
// kind nodes.
const Binary = "svccheck"

// NodeProber probes from inside a kind node: it runs the svccheck binary
// placed on the node through the node's exec.Cmder.
type NodeProber struct {
	// Name is the node's name.
	Name string
	// Cmder runs commands on the node (a kind nodes.Node satisfies it).
	Cmder exec.Cmder
}

var _ Prober = (*NodeProber)(nil)

// Probe implements Prober.
func (p *NodeProber) Probe(ctx context.Context, req Request) (Result, error) {
	var stdout, stderr bytes.Buffer
	cmd := p.Cmder.CommandContext(ctx, Binary, Args(req)...)
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	if err := cmd.Run(); err != nil && stdout.Len() == 0 {
		return nil, fmt.Errorf("running %s %s on node %s: %w: %s", Binary, strings.Join(Args(req), " "), p.Name, err, strings.TrimSpace(stderr.String()))
	}
	res, err := Parse(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("probing %s from node %s: %w (stderr: %s)", req.Target, p.Name, err, strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

// Source implements Prober.
func (p *NodeProber) Source() string { return "node " + p.Name }

// PodProber probes from inside a running pod whose image holds the svccheck
// binary, by exec through the API server (WebSocket, falling back to SPDY).
type PodProber struct {
	// Config is the REST config of the cluster.
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface
	// Namespace and Pod name the client pod.
	Namespace, Pod string
	// Container is the container to exec in; empty for the pod's only one.
	Container string
}

var _ Prober = (*PodProber)(nil)

// Probe implements Prober.
func (p *PodProber) Probe(ctx context.Context, req Request) (Result, error) {
	argv := append([]string{Binary}, Args(req)...)
	stdout, stderr, err := PodExec(ctx, p.Config, p.Client, p.Namespace, p.Pod, p.Container, argv)
	if err != nil && len(stdout) == 0 {
		return nil, fmt.Errorf("running %s in pod %s/%s: %w: %s", strings.Join(argv, " "), p.Namespace, p.Pod, err, strings.TrimSpace(string(stderr)))
	}
	res, perr := Parse(stdout)
	if perr != nil {
		return nil, fmt.Errorf("probing %s from pod %s/%s: %w (stderr: %s)", req.Target, p.Namespace, p.Pod, perr, strings.TrimSpace(string(stderr)))
	}
	return res, nil
}

// Source implements Prober.
func (p *PodProber) Source() string { return "pod " + p.Namespace + "/" + p.Pod }

// PodExec runs argv in a container of a pod and returns its stdout and
// stderr. A non-zero exit status is returned as an error beside the output.
func PodExec(ctx context.Context, config *rest.Config, client kubernetes.Interface, namespace, pod, container string, argv []string) (stdout, stderr []byte, err error) {
	var out, errOut bytes.Buffer
	err = PodExecStream(ctx, config, client, namespace, pod, container, argv, nil, &out, &errOut)
	return out.Bytes(), errOut.Bytes(), err
}

// PodExecStream runs argv in a container of a pod, feeding it stdin (none
// when nil) and copying its output to stdout and stderr as it comes. A
// non-zero exit status is returned as an error.
func PodExecStream(ctx context.Context, config *rest.Config, client kubernetes.Interface, namespace, pod, container string, argv []string,
	stdin io.Reader, stdout, stderr io.Writer) error {
	req := client.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   argv,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(config, "GET", req.URL().String())
	if err != nil {
		return fmt.Errorf("creating websocket executor: %w", err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(config, "POST", req.URL())
	if err != nil {
		return fmt.Errorf("creating SPDY executor: %w", err)
	}
	// Fall back to SPDY only when the WebSocket upgrade itself failed, as
	// kubectl does; a command that ran and failed must not run twice.
	exe, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return fmt.Errorf("creating exec fallback: %w", err)
	}
	if err := exe.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr}); err != nil {
		return fmt.Errorf("exec in pod %s/%s: %w", namespace, pod, err)
	}
	return nil
}
