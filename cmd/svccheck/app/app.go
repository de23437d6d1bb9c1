// Package app is the svccheck command line: it parses flags, wires the
// packages of the module together and is the only place that prints errors.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/svccheck/svccheck/run"
)

// Exit codes of svccheck.
const (
	// ExitOK means everything asked for was done and every check passed.
	ExitOK = 0
	// ExitFailed means a check (a spec) failed.
	ExitFailed = 1
	// ExitUsage means bad flags, a missing dependency or an unusable environment.
	ExitUsage = 2
)

// ExitError carries the exit code a command wants, beside its error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

func (e *ExitError) Unwrap() error { return e.Err }

// usageError wraps err as a usage or environment error (exit code 2).
func usageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// ExitCode maps an error returned by Run to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return int(run.StatusOf(err))
}

// Run runs svccheck with args (without the program name), writing to stdout
// and stderr. It prints the error, if any, once, and returns it.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "svccheck: %v\n", err)
	}
	return err
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "svccheck",
		Short: "Check whether Kubernetes Service proxying works, and why not",
		Long: `svccheck runs conformance-style Service suites (ClusterIP, NodePort,
externalTrafficPolicy Local, session affinity, headless and more) against a
kind cluster it makes, with its own iptables Service proxy or stock
kube-proxy, or against any cluster through its kubeconfig; dumps every
node's netfilter state next to the results; and explains what it finds
(explain, doctor, report.html).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError("%v (see 'svccheck --help')", err)
	})
	root.AddCommand(
		newAgentCommand(stdout, stderr),
		newCleanupCommand(stdout, stderr),
		newClusterCommand(stdout, stderr),
		newDoctorCommand(stdout, stderr),
		newDumpCommand(stdout, stderr),
		newExplainCommand(stdout, stderr),
		newImageCommand(stdout, stderr),
		newPreflightCommand(stdout, stderr),
		newProxyCommand(stdout, stderr),
		newRunCommand(stdout, stderr),
	)
	return root
}
