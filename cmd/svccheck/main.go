// Command svccheck checks whether Kubernetes Service proxying works, and why not.
package main

import (
	"os"

	"github.com/svccheck/svccheck/cmd/svccheck/app"
)

func main() {
	ctx, stop := app.SignalContext(os.Stderr)
	err := app.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(app.ExitCode(err))
}
