package nodeimage

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"sigs.k8s.io/kind/pkg/exec"
)

// fakeCmder answers commands from a table keyed by the command line, and
// records the command lines it ran.
type fakeCmder struct {
	mu      sync.Mutex
	answers map[string]fakeAnswer
	ran     []string
}

// fakeAnswer is what a fake command prints and returns.
type fakeAnswer struct {
	stdout, stderr string
	err            error
}

var _ exec.Cmder = (*fakeCmder)(nil)

func (f *fakeCmder) Command(name string, args ...string) exec.Cmd {
	return f.CommandContext(context.Background(), name, args...)
}

func (f *fakeCmder) CommandContext(_ context.Context, name string, args ...string) exec.Cmd {
	return &fakeCmd{f: f, line: strings.Join(append([]string{name}, args...), " ")}
}

type fakeCmd struct {
	f              *fakeCmder
	line           string
	stdout, stderr io.Writer
}

var _ exec.Cmd = (*fakeCmd)(nil)

func (c *fakeCmd) Run() error {
	c.f.mu.Lock()
	c.f.ran = append(c.f.ran, c.line)
	a, ok := c.f.answers[c.line]
	c.f.mu.Unlock()
	if !ok {
		return &exec.RunError{Command: strings.Fields(c.line), Inner: fmt.Errorf("fake: unexpected command %q", c.line)}
	}
	if c.stdout != nil {
		_, _ = io.WriteString(c.stdout, a.stdout)
	}
	if c.stderr != nil {
		_, _ = io.WriteString(c.stderr, a.stderr)
	}
	if a.err != nil {
		return &exec.RunError{Command: strings.Fields(c.line), Inner: a.err}
	}
	return nil
}

func (c *fakeCmd) SetEnv(...string) exec.Cmd      { return c }
func (c *fakeCmd) SetStdin(io.Reader) exec.Cmd    { return c }
func (c *fakeCmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *fakeCmd) SetStderr(w io.Writer) exec.Cmd { c.stderr = w; return c }
