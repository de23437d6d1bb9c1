// Command svccheck checks whether Kubernetes Service proxying works, and why not.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/svccheck/svccheck/cmd/svccheck/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := app.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(app.ExitCode(err))
}
