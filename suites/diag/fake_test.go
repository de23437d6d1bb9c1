package diag

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sigs.k8s.io/kind/pkg/exec"
)

// answer is what a fake command prints and how it ends.
type answer struct {
	stdout, stderr string
	// exit is the exit status; 0 is success.
	exit int
	// block makes the command wait for its context to end.
	block bool
	// delay makes the command take this long.
	delay time.Duration
}

// fakeCmder is an exec.Cmder answering from a table keyed by the command
// line; unknown commands exit 127 like a missing executable.
type fakeCmder struct {
	answers map[string]answer

	mu  sync.Mutex
	ran []string

	running, maxRunning *atomic.Int32
}

var _ exec.Cmder = (*fakeCmder)(nil)

func newFakeCmder(answers map[string]answer) *fakeCmder {
	return &fakeCmder{answers: answers, running: &atomic.Int32{}, maxRunning: &atomic.Int32{}}
}

func (f *fakeCmder) Command(name string, args ...string) exec.Cmd {
	return f.CommandContext(context.Background(), name, args...)
}

func (f *fakeCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	return &fakeCmd{f: f, ctx: ctx, argv: append([]string{name}, args...)}
}

type fakeCmd struct {
	f              *fakeCmder
	ctx            context.Context
	argv           []string
	stdout, stderr io.Writer
}

func (c *fakeCmd) SetEnv(...string) exec.Cmd      { return c }
func (c *fakeCmd) SetStdin(io.Reader) exec.Cmd    { return c }
func (c *fakeCmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *fakeCmd) SetStderr(w io.Writer) exec.Cmd { c.stderr = w; return c }

func (c *fakeCmd) line() string { return strings.Join(c.argv, " ") }

func write(w io.Writer, s string) {
	if w != nil {
		_, _ = io.WriteString(w, s)
	}
}

// fail wraps inner the way kind's local commands do.
func (c *fakeCmd) fail(inner error) error { return &exec.RunError{Command: c.argv, Inner: inner} }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitError) ExitCode() int { return int(e) }

func (f *fakeCmder) begin(line string) {
	f.mu.Lock()
	f.ran = append(f.ran, line)
	f.mu.Unlock()
	n := f.running.Add(1)
	for m := f.maxRunning.Load(); n > m; m = f.maxRunning.Load() {
		if f.maxRunning.CompareAndSwap(m, n) {
			break
		}
	}
}

// exitError mimics os/exec.ExitError's ExitCode.
type exitError int

func (c *fakeCmd) Run() error {
	c.f.begin(c.line())
	defer c.f.running.Add(-1)
	a, ok := c.f.answers[c.line()]
	if !ok {
		write(c.stderr, fmt.Sprintf("OCI runtime exec failed: exec: %q: executable file not found in $PATH\n", c.argv[0]))
		return c.fail(exitError(127))
	}
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-c.ctx.Done():
			return c.fail(fmt.Errorf("signal: killed"))
		}
	}
	if a.block {
		<-c.ctx.Done()
		return c.fail(fmt.Errorf("signal: killed"))
	}
	write(c.stdout, a.stdout)
	write(c.stderr, a.stderr)
	if a.exit != 0 {
		return c.fail(exitError(a.exit))
	}
	return nil
}
