package nodeimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"
)

// outputTailLines is how many lines of a failed command's output an error
// carries.
const outputTailLines = 25

// runner runs commands through a Cmder and turns failures into errors that
// carry the command line and the tail of its output.
type runner struct {
	cmder exec.Cmder
}

// cmdSpec describes one command to run.
type cmdSpec struct {
	name  string
	args  []string
	env   []string // added to the environment of this process
	stdin io.Reader
	// stdout, when set, receives standard output instead of the captured
	// output buffer.
	stdout io.Writer
}

// run runs the command and returns its combined output (standard output only
// when spec.stdout is nil and the command succeeds, standard error included).
func (r runner) run(ctx context.Context, spec cmdSpec) ([]byte, error) {
	cmd := r.cmder.CommandContext(ctx, spec.name, spec.args...)
	if len(spec.env) > 0 {
		cmd.SetEnv(append(os.Environ(), spec.env...)...)
	}
	if spec.stdin != nil {
		cmd.SetStdin(spec.stdin)
	}
	var out bytes.Buffer
	if spec.stdout != nil {
		cmd.SetStdout(spec.stdout)
	} else {
		cmd.SetStdout(&out)
	}
	cmd.SetStderr(&out)
	if err := cmd.Run(); err != nil {
		return out.Bytes(), commandError(ctx, spec, out.Bytes(), innerError(err))
	}
	return out.Bytes(), nil
}

// output runs the command and returns its standard output alone, trimmed.
func (r runner) output(ctx context.Context, name string, args ...string) (string, error) {
	var stdout bytes.Buffer
	_, err := r.run(ctx, cmdSpec{name: name, args: args, stdout: &stdout})
	return strings.TrimSpace(stdout.String()), err
}

// ErrDiskFull is wrapped by errors of build steps that ran out of disk space.
var ErrDiskFull = errors.New("no space left on device")

// commandError describes a failed command: its command line, the tail of its
// output, and whether the disk was full or the build was cancelled.
func commandError(ctx context.Context, spec cmdSpec, out []byte, err error) error {
	line := exec.PrettyCommand(spec.name, spec.args...)
	if ctx.Err() != nil {
		return fmt.Errorf("running %s: %w", line, ctx.Err())
	}
	tail := tailLines(string(out), outputTailLines)
	if strings.Contains(string(out), "no space left on device") {
		return fmt.Errorf("running %s: %w; free some disk space (docker system prune, or the cache directory) and retry:\n%s", line, ErrDiskFull, tail)
	}
	if tail == "" {
		return fmt.Errorf("running %s: %w", line, err)
	}
	return fmt.Errorf("running %s: %w; output ends:\n%s", line, err, tail)
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// innerError unwraps kind's exec.RunError, which does not implement Unwrap,
// so that errors.Is finds causes like exec.ErrNotFound.
func innerError(err error) error {
	var re *exec.RunError
	if errors.As(err, &re) && re.Inner != nil {
		return re.Inner
	}
	return err
}
