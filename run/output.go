package run

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/svccheck/svccheck/reports"
)

// ClaimOutput claims the output directory dir for this process
// (reports.ClaimDir): created if missing, refused if it holds anything or
// another run claimed it first, even at the same instant. release gives
// the directory back if the run wrote nothing into it.
func ClaimOutput(dir string) (release func(), err error) {
	owner := fmt.Sprintf("svccheck (pid %d, started %s): %s", os.Getpid(), time.Now().UTC().Format(time.RFC3339), strings.Join(os.Args, " "))
	release, err = reports.ClaimDir(dir, owner)
	switch {
	case errors.Is(err, reports.ErrClaimed):
		return nil, usageError("--output: %v: give a new or empty directory, so results of two runs are not mixed", err)
	case err != nil:
		return nil, usageError("--output %s: %v", dir, err)
	}
	return release, nil
}
