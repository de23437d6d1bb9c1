package testenv

import (
	"fmt"
	"os"
	osexec "os/exec"
	"testing"
)

// RequireVar is the environment variable that, set to 1, turns every
// skip for a missing privilege or tool into a failure.
const RequireVar = "SVCCHECK_REQUIRE_PRIVILEGED"

// env is what the checks read from the machine; tests replace it.
type env struct {
	getenv   func(string) string
	geteuid  func() int
	lookPath func(string) (string, error)
}

// host is the real machine.
var host = env{getenv: os.Getenv, geteuid: os.Geteuid, lookPath: osexec.LookPath}

// Required reports whether SVCCHECK_REQUIRE_PRIVILEGED=1 is set.
func Required() bool { return host.required() }

func (e env) required() bool { return e.getenv(RequireVar) == "1" }

// Unavailable stops tb because something it needs is missing, saying what:
// it skips, or fails when SVCCHECK_REQUIRE_PRIVILEGED=1 is set. Every
// check of this package ends here; call it directly for other needs.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	host.unavailable(tb, format, args...)
}

func (e env) unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	why := fmt.Sprintf(format, args...)
	if e.required() {
		tb.Fatalf("%s, and %s=1 forbids skipping", why, RequireVar)
		return
	}
	tb.Skip(why)
}

// NeedRoot stops tb (see Unavailable) unless it runs as root; what says
// what root is needed for.
func NeedRoot(tb testing.TB, what string) {
	tb.Helper()
	host.needRoot(tb, what)
}

func (e env) needRoot(tb testing.TB, what string) bool {
	tb.Helper()
	if e.geteuid() != 0 {
		e.unavailable(tb, "needs root (%s)", what)
		return false
	}
	return true
}

// NeedTools stops tb (see Unavailable) unless every tool is on PATH,
// naming the first missing one.
func NeedTools(tb testing.TB, tools ...string) {
	tb.Helper()
	host.needTools(tb, tools...)
}

func (e env) needTools(tb testing.TB, tools ...string) bool {
	tb.Helper()
	for _, tool := range tools {
		if _, err := e.lookPath(tool); err != nil {
			e.unavailable(tb, "needs %s on PATH: %v", tool, err)
			return false
		}
	}
	return true
}

// NeedRootAndTools is NeedRoot then NeedTools: the usual needs of a test
// that builds network namespaces and runs iptables in them.
func NeedRootAndTools(tb testing.TB, what string, tools ...string) {
	tb.Helper()
	if host.needRoot(tb, what) {
		host.needTools(tb, tools...)
	}
}
