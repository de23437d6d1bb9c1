package proxyimpl

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/render"
)

// BreakEnv is the environment variable that breaks the proxy on purpose: a
// comma-separated list of Breakages. `svccheck run --break LIST` sets it on
// the proxy DaemonSet to show that the specs checking each behaviour catch
// a broken proxy. Nothing else sets it.
const BreakEnv = "SVCCHECK_PROXY_BREAK"

// Breakages of the proxy, the values of BreakEnv.
const (
	// BreakAffinity writes no ClientIP session affinity rules
	// (render.Config.BreakAffinity).
	BreakAffinity = "affinity"
	// BreakTerminating does not fall back to serving terminating endpoints
	// (render.Config.BreakTerminating).
	BreakTerminating = "terminating"
	// BreakETPLocal ignores externalTrafficPolicy Local
	// (render.Config.BreakETPLocal).
	BreakETPLocal = "etplocal"
	// BreakReject drops instead of rejecting traffic to Services with no
	// endpoints (render.Config.BreakReject).
	BreakReject = "reject"
)

// Breakages lists every breakage, in the order help texts name them.
var Breakages = []string{BreakAffinity, BreakTerminating, BreakETPLocal, BreakReject}

// ParseBreak parses a comma-separated list of breakages into the Break
// fields of a render.Config (and the sorted, distinct names); an empty
// list is an intact proxy.
func ParseBreak(list string) (render.Config, []string, error) {
	var cfg render.Config
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		switch n {
		case "":
			continue
		case BreakAffinity:
			cfg.BreakAffinity = true
		case BreakTerminating:
			cfg.BreakTerminating = true
		case BreakETPLocal:
			cfg.BreakETPLocal = true
		case BreakReject:
			cfg.BreakReject = true
		default:
			return render.Config{}, nil, fmt.Errorf("unknown breakage %q (known: %s)", n, strings.Join(Breakages, ", "))
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return cfg, slices.Compact(names), nil
}

// breaks returns the breakages BreakEnv asks for, as render.Config fields.
// The proxy was started by svccheck run, which checked the list: an
// unknown name here breaks nothing.
func breaks() render.Config {
	cfg, _, _ := ParseBreak(os.Getenv(BreakEnv))
	return cfg
}
