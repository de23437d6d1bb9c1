package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"sigs.k8s.io/kind/pkg/exec"
)

// waitSeconds is how long a command waits for the xtables lock (-w).
const waitSeconds = "5"

// Runner implements Interface by running the iptables tools of one
// backend through a kind exec.Cmder.
type Runner struct {
	cmder   exec.Cmder
	backend Backend
}

var _ Interface = (*Runner)(nil)

// New returns a Runner that runs iptables-<backend>[-save|-restore]
// through cmder.
func New(cmder exec.Cmder, backend Backend) *Runner {
	return &Runner{cmder: cmder, backend: backend}
}

// Backend implements Interface.
func (r *Runner) Backend() Backend { return r.backend }

// tool names the backend's variant of an iptables tool ("", "-save",
// "-restore").
func (r *Runner) tool(suffix string) string {
	return "iptables-" + string(r.backend) + suffix
}

// Restore implements Interface: iptables-restore --noflush -w, without
// counters. When the tool names the line it failed at, the error is a
// *RestoreError with the input around that line.
func (r *Runner) Restore(ctx context.Context, data []byte) error {
	if _, err := run(ctx, r.cmder, data, r.tool("-restore"), "--noflush", "-w", waitSeconds); err != nil {
		var output string
		var cerr *CommandError
		if errors.As(err, &cerr) {
			output = cerr.Output
		}
		return fmt.Errorf("restoring rules: %w", withContext(err, output, data))
	}
	return nil
}

// Save implements Interface.
func (r *Runner) Save(ctx context.Context, table Table, counters bool) ([]byte, error) {
	var args []string
	if table != TableAll {
		args = append(args, "-t", string(table))
	}
	if counters {
		args = append(args, "-c")
	}
	out, err := run(ctx, r.cmder, nil, r.tool("-save"), args...)
	if err != nil {
		if table == TableAll {
			return nil, fmt.Errorf("saving the tables: %w", err)
		}
		return nil, fmt.Errorf("saving table %s: %w", table, err)
	}
	return out, nil
}

// iptables runs the backend's iptables with -w and -t table.
func (r *Runner) iptables(ctx context.Context, table Table, args ...string) error {
	full := append([]string{"-w", waitSeconds, "-t", string(table)}, args...)
	_, err := run(ctx, r.cmder, nil, r.tool(""), full...)
	return err
}

// EnsureChain implements Interface.
func (r *Runner) EnsureChain(ctx context.Context, table Table, chain Chain) error {
	err := r.iptables(ctx, table, "-N", string(chain))
	if err == nil {
		return nil
	}
	// -N fails with status 1 when the chain exists; -S tells that apart
	// from a real failure.
	if exitCode(err) == 1 && r.iptables(ctx, table, "-S", string(chain)) == nil {
		return nil
	}
	return fmt.Errorf("creating chain %s in table %s: %w", chain, table, err)
}

// hasRule runs -C: status 0 means present, 1 missing, anything else is an
// error.
func (r *Runner) hasRule(ctx context.Context, table Table, chain Chain, args []string) (bool, error) {
	err := r.iptables(ctx, table, append([]string{"-C", string(chain)}, args...)...)
	switch {
	case err == nil:
		return true, nil
	case exitCode(err) == 1:
		return false, nil
	}
	return false, fmt.Errorf("checking rule in %s %s: %w", table, chain, err)
}

// EnsureRule implements Interface.
func (r *Runner) EnsureRule(ctx context.Context, table Table, chain Chain, args ...string) (bool, error) {
	ok, err := r.hasRule(ctx, table, chain, args)
	if err != nil || ok {
		return ok, err
	}
	if err := r.iptables(ctx, table, append([]string{"-I", string(chain)}, args...)...); err != nil {
		return false, fmt.Errorf("inserting rule in %s %s: %w", table, chain, err)
	}
	return false, nil
}

// DeleteRule implements Interface.
func (r *Runner) DeleteRule(ctx context.Context, table Table, chain Chain, args ...string) error {
	ok, err := r.hasRule(ctx, table, chain, args)
	if err != nil || !ok {
		return err
	}
	if err := r.iptables(ctx, table, append([]string{"-D", string(chain)}, args...)...); err != nil {
		return fmt.Errorf("deleting rule from %s %s: %w", table, chain, err)
	}
	return nil
}

// run runs one command with optional stdin and returns its stdout; a
// failure is a *CommandError with the command line and its output.
func run(ctx context.Context, cmder exec.Cmder, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := cmder.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.SetStdin(bytes.NewReader(stdin))
	}
	var stdout, stderr bytes.Buffer
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	if err := cmd.Run(); err != nil {
		return nil, &CommandError{
			Command:  exec.PrettyCommand(name, args...),
			Output:   stderr.String() + stdout.String(),
			ExitCode: exitCode(err),
			Err:      innerError(err),
		}
	}
	return stdout.Bytes(), nil
}
