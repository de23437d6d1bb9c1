package iptables

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"sigs.k8s.io/kind/pkg/exec"
)

// LocalCmder returns a Cmder that runs commands on this host, as kind's
// exec.LocalCmder does, but without a second copy of their output (see
// localCmd). The proxy's Runner reads every table through it.
func LocalCmder() exec.Cmder { return localCmder{} }

type localCmder struct{}

var _ exec.Cmder = localCmder{}

// Command implements exec.Cmder.
func (c localCmder) Command(name string, args ...string) exec.Cmd {
	return c.CommandContext(context.Background(), name, args...)
}

// CommandContext implements exec.Cmder.
func (localCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	return &localCmd{Cmd: osexec.CommandContext(ctx, name, args...)}
}

// localCmd is kind's exec.LocalCmd without its copy of the output: kind's
// keeps every command's combined output for its RunError, beside the
// writers the caller set, so the Runner's iptables-save of a 10k-Service
// table (about 20 MB) went into two buffers, each grown by doubling. Here
// the RunError holds what went to no writer of the caller's: all of the
// output when it set neither, none when it set both (the Runner reads its
// own stdout and stderr for its CommandError).
type localCmd struct{ *osexec.Cmd }

var _ exec.Cmd = (*localCmd)(nil)

// Run implements exec.Cmd.
func (c *localCmd) Run() error {
	var rest bytes.Buffer
	switch {
	case c.Stdout == nil && c.Stderr == nil:
		c.Stdout, c.Stderr = &rest, &rest
	case c.Stdout == nil:
		c.Stdout = &rest
	case c.Stderr == nil:
		c.Stderr = &rest
	}
	if err := c.Cmd.Run(); err != nil {
		return &exec.RunError{Command: c.Args, Output: rest.Bytes(), Inner: err}
	}
	return nil
}

// SetEnv implements exec.Cmd.
func (c *localCmd) SetEnv(env ...string) exec.Cmd { c.Env = env; return c }

// SetStdin implements exec.Cmd.
func (c *localCmd) SetStdin(r io.Reader) exec.Cmd { c.Stdin = r; return c }

// SetStdout implements exec.Cmd.
func (c *localCmd) SetStdout(w io.Writer) exec.Cmd { c.Stdout = w; return c }

// SetStderr implements exec.Cmd.
func (c *localCmd) SetStderr(w io.Writer) exec.Cmd { c.Stderr = w; return c }

// NetNSCmder returns a Cmder that runs commands inside the named network
// namespace with "ip netns exec NAME". The command is looked up on the
// host's PATH first, so a missing tool fails with exec.ErrNotFound rather
// than an opaque status from ip.
func NetNSCmder(name string) exec.Cmder {
	return netnsCmder{name: name}
}

type netnsCmder struct{ name string }

var _ exec.Cmder = netnsCmder{}

// Command implements exec.Cmder.
func (c netnsCmder) Command(name string, args ...string) exec.Cmd {
	return c.CommandContext(context.Background(), name, args...)
}

// CommandContext implements exec.Cmder.
func (c netnsCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	path, err := osexec.LookPath(name)
	if err != nil {
		return &failedCmd{args: append([]string{name}, args...), err: err}
	}
	full := append([]string{"netns", "exec", c.name, path}, args...)
	return &localCmd{Cmd: osexec.CommandContext(ctx, "ip", full...)}
}

// chrootPath is the PATH searched inside a chroot.
var chrootPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// ChrootCmder returns a Cmder that runs commands chrooted into root (with
// working directory / and a standard PATH), so a process with a node's
// root filesystem mounted at, say, /host runs the node's own binaries.
// Running it needs CAP_SYS_CHROOT.
func ChrootCmder(root string) exec.Cmder {
	return chrootCmder{root: root}
}

type chrootCmder struct{ root string }

var _ exec.Cmder = chrootCmder{}

// Command implements exec.Cmder.
func (c chrootCmder) Command(name string, args ...string) exec.Cmd {
	return c.CommandContext(context.Background(), name, args...)
}

// CommandContext implements exec.Cmder.
func (c chrootCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	path, err := c.lookPath(name)
	if err != nil {
		return &failedCmd{args: append([]string{name}, args...), err: err}
	}
	cmd := osexec.CommandContext(ctx, path, args...)
	cmd.Args[0] = name
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + strings.Join(chrootPath, ":")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: c.root}
	return &localCmd{Cmd: cmd}
}

// lookPath finds name on chrootPath inside the root and returns its path
// as seen from inside. Symbolic links are not followed on the host: they
// resolve inside the chroot when the command runs.
func (c chrootCmder) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range chrootPath {
		fi, err := os.Lstat(filepath.Join(c.root, dir, name))
		if err == nil && (fi.Mode()&os.ModeSymlink != 0 || fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0) {
			return filepath.Join(dir, name), nil
		}
	}
	return "", &osexec.Error{Name: name, Err: fmt.Errorf("%w in %s", osexec.ErrNotFound, c.root)}
}

// failedCmd is a command that could not be prepared; Run reports why.
type failedCmd struct {
	args []string
	err  error
}

var _ exec.Cmd = (*failedCmd)(nil)

// Run implements exec.Cmd.
func (c *failedCmd) Run() error {
	return &exec.RunError{Command: c.args, Inner: c.err}
}

// SetEnv implements exec.Cmd.
func (c *failedCmd) SetEnv(...string) exec.Cmd { return c }

// SetStdin implements exec.Cmd.
func (c *failedCmd) SetStdin(io.Reader) exec.Cmd { return c }

// SetStdout implements exec.Cmd.
func (c *failedCmd) SetStdout(io.Writer) exec.Cmd { return c }

// SetStderr implements exec.Cmd.
func (c *failedCmd) SetStderr(io.Writer) exec.Cmd { return c }
