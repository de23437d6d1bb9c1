package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/svccheck/svccheck/run"
)

// left is what this process's runs, clusters and dumps would leave behind
// at a forced quit.
var left = run.NewLeftovers()

// ExitForced is the exit status when a second interrupt stops svccheck
// before it finished cleaning up (128 + SIGINT, as shells report it).
const ExitForced = 130

// SignalContext returns a context that is cancelled by the first SIGINT or
// SIGTERM, after which svccheck cleans up what it created (a spec's
// namespace, a cluster a run made, a dump's host pods). A second signal
// ends the process at once with ExitForced, saying so on stderr, for a
// user who would rather leave things behind than wait. stop releases the
// signals.
func SignalContext(stderr io.Writer) (ctx context.Context, stop func()) {
	return signalContext(stderr, func() {
		left.Quit(stderr)
		os.Exit(ExitForced)
	})
}

func signalContext(stderr io.Writer, exit func()) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "svccheck: %v: cleaning up what this run created; interrupt again to quit at once and leave it\n", s)
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "svccheck: %v again: quitting without cleaning up\n", s)
			exit()
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
