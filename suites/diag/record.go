package diag

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/exec"
)

// record is one file of a dump: a command's output, or an API read's.
type record struct {
	name    string
	command []string
	header  []string
	stdout  []byte
	stderr  []byte
	err     error
}

// failed reports whether the record's command or read failed.
func (r record) failed() bool { return r.err != nil }

// trailerPrefix starts every line svccheck adds to a dump file. It is a
// shell and iptables-restore comment, so iptables dumps stay restorable.
const trailerPrefix = "# svccheck: "

// content renders the file: header notes, the output, then a trailer with
// the command line, exit status and stderr whenever the command failed,
// wrote to stderr or printed nothing.
func (r record) content() []byte {
	var b bytes.Buffer
	for _, h := range r.header {
		b.WriteString(trailerPrefix + h + "\n")
	}
	b.Write(r.stdout)
	if len(r.stdout) > 0 && !bytes.HasSuffix(r.stdout, []byte("\n")) {
		b.WriteByte('\n')
	}
	if r.err == nil && len(r.stderr) == 0 && len(r.stdout) > 0 {
		return b.Bytes()
	}
	if len(r.command) > 0 {
		b.WriteString(trailerPrefix + "command: " + exec.PrettyCommand(r.command[0], r.command[1:]...) + "\n")
	}
	switch {
	case r.err != nil:
		b.WriteString(trailerPrefix + "FAILED: " + oneLine(r.err.Error()) + "\n")
	case len(r.stdout) == 0:
		b.WriteString(trailerPrefix + "succeeded with no output\n")
	default:
		b.WriteString(trailerPrefix + "succeeded\n")
	}
	if len(r.stderr) > 0 {
		b.WriteString(trailerPrefix + "stderr:\n")
		sc := bufio.NewScanner(bytes.NewReader(r.stderr))
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		for sc.Scan() {
			b.WriteString("#   " + sc.Text() + "\n")
		}
	}
	return b.Bytes()
}

// run runs one command on cmder under timeout and records its output.
func run(ctx context.Context, cmder exec.Cmder, timeout time.Duration, name string, command ...string) record {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := cmder.CommandContext(ctx, command[0], command[1:]...)
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	err := cmd.Run()
	r := record{name: name, command: command, stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	if err != nil {
		r.err = describe(ctx, err, timeout)
	}
	return r
}

// exitCoder is satisfied by os/exec.ExitError.
type exitCoder interface{ ExitCode() int }

// exitStatuser is satisfied by client-go's exec.CodeExitError (pod exec).
type exitStatuser interface{ ExitStatus() int }

// describe turns a Run error into what a person needs: a timeout, an exit
// status, or the error itself.
func describe(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	// kind's RunError does not unwrap; its Inner holds the exec error.
	var re *exec.RunError
	if errors.As(err, &re) && re.Inner != nil {
		err = re.Inner
	}
	var ec exitCoder
	if errors.As(err, &ec) && ec.ExitCode() >= 0 {
		return fmt.Errorf("exit status %d", ec.ExitCode())
	}
	var es exitStatuser
	if errors.As(err, &es) {
		return fmt.Errorf("exit status %d", es.ExitStatus())
	}
	return err
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func joinErrors(errs []error) error {
	return errors.Join(errs...)
}
