package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Environment variables that turn a re-executed test binary into a child:
// EnvChild names the role ("echo" or "probe"), EnvChildArgs carries its
// JSON arguments (an EchoSpec or a ProbeSpec).
const (
	EnvChild     = "SVCCHK_INTEGRATION_CHILD"
	EnvChildArgs = "SVCCHK_INTEGRATION_ARGS"
)

// Child roles.
const (
	roleEcho  = "echo"
	roleProbe = "probe"
)

// RunChild runs the child role named by the environment variable EnvChild
// (echo server or prober), writing its output to stdout, until ctx is done
// or the role's work is finished. A test binary calls it from TestMain when
// EnvChild is set.
func RunChild(ctx context.Context, stdout io.Writer) error {
	role, args := os.Getenv(EnvChild), os.Getenv(EnvChildArgs)
	switch role {
	case roleEcho:
		var spec EchoSpec
		if err := json.Unmarshal([]byte(args), &spec); err != nil {
			return fmt.Errorf("decoding echo spec: %w", err)
		}
		return ServeEcho(ctx, spec, stdout)
	case roleProbe:
		var spec ProbeSpec
		if err := json.Unmarshal([]byte(args), &spec); err != nil {
			return fmt.Errorf("decoding probe spec: %w", err)
		}
		results, err := RunProbes(ctx, spec)
		if err != nil {
			return err
		}
		if err := json.NewEncoder(stdout).Encode(results); err != nil {
			return fmt.Errorf("writing probe results: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("unknown child role %q", role)
	}
}

// Probe runs spec from inside namespace ns and returns one result per probe.
func (t *Topology) Probe(ctx context.Context, ns string, spec ProbeSpec) ([]ProbeResult, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding probe spec: %w", err)
	}
	cmd := t.Cmder(ns).CommandContext(ctx, t.exe, "-test.run=^$")
	cmd.SetEnv(append(os.Environ(), EnvChild+"="+roleProbe, EnvChildArgs+"="+string(data))...)
	var stdout, stderr bytes.Buffer
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("probing %s %s from %s: %w: %s", spec.Proto, spec.Addr, ns, err, strings.TrimSpace(stderr.String()))
	}
	var results []ProbeResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		return nil, fmt.Errorf("decoding probe results from %s: %w (output %q)", ns, err, stdout.String())
	}
	return results, nil
}

// Echo is a running echo server.
type Echo struct {
	cancel context.CancelFunc
	done   chan error
	stderr *lockedBuffer
}

// StartEcho starts an echo server inside namespace ns and waits until it
// listens on all its ports.
func (t *Topology) StartEcho(ctx context.Context, ns string, spec EchoSpec) (*Echo, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding echo spec: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cmd := t.Cmder(ns).CommandContext(runCtx, t.exe, "-test.run=^$")
	cmd.SetEnv(append(os.Environ(), EnvChild+"="+roleEcho, EnvChildArgs+"="+string(data))...)
	pr, pw := io.Pipe()
	e := &Echo{cancel: cancel, done: make(chan error, 1), stderr: &lockedBuffer{}}
	cmd.SetStdout(pw)
	cmd.SetStderr(e.stderr)
	go func() {
		err := cmd.Run()
		_ = pw.CloseWithError(io.EOF)
		e.done <- err
	}()
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(pr).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != readyLine {
			err = fmt.Errorf("unexpected output %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case err = <-ready:
	case <-time.After(15 * time.Second):
		err = errors.New("not ready after 15s")
	}
	if err != nil {
		stopErr := e.Stop()
		return nil, errors.Join(fmt.Errorf("starting echo server %s in %s: %w: %s", spec.Name, ns, err, e.stderr.String()), stopErr)
	}
	return e, nil
}

// Stop kills the echo server and waits for it to exit.
func (e *Echo) Stop() error {
	e.cancel()
	err := <-e.done
	e.done <- err // Stop may be called again.
	if err != nil && !strings.Contains(err.Error(), "signal: killed") {
		return fmt.Errorf("echo server exited: %w: %s", err, e.stderr.String())
	}
	return nil
}

// lockedBuffer is a bytes.Buffer safe for one writer and other readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
