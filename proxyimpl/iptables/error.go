package iptables

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"
)

// CommandError is a failed iptables command: its command line, what it
// printed and how it exited.
type CommandError struct {
	// Command is the command line, quoted for a shell.
	Command string
	// Output is what the command wrote to stderr and stdout.
	Output string
	// ExitCode is the exit status, -1 when the command did not exit on its
	// own (not found, killed, context cancelled).
	ExitCode int
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *CommandError) Error() string {
	out := strings.TrimSpace(e.Output)
	if out == "" {
		return fmt.Sprintf("running %s: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("running %s: %v: %s", e.Command, e.Err, out)
}

// Unwrap returns the underlying error.
func (e *CommandError) Unwrap() error { return e.Err }

// exitCoder is what os/exec.ExitError (and test fakes) offer.
type exitCoder interface{ ExitCode() int }

// exitCode digs the exit status out of an error from a kind exec.Cmd, -1
// when there is none.
func exitCode(err error) int {
	if rerr := exec.RunErrorForError(err); rerr != nil && rerr.Inner != nil {
		err = rerr.Inner
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return -1
}

// innerError returns the error a kind RunError wraps, or err itself.
func innerError(err error) error {
	if rerr := exec.RunErrorForError(err); rerr != nil && rerr.Inner != nil {
		return rerr.Inner
	}
	return err
}
