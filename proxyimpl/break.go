package proxyimpl

import "os"

// BreakEnv is the environment variable that breaks the proxy on purpose:
// with BreakEnv=affinity it writes no ClientIP session affinity rules
// (render.Config.BreakAffinity). `svccheck run --break affinity` sets it on
// the proxy DaemonSet to show that the Affinity specs catch a broken proxy.
// Nothing else sets it.
const BreakEnv = "SVCCHECK_PROXY_BREAK"

// breakAffinity reports whether the proxy was asked to render no session
// affinity rules.
func breakAffinity() bool { return os.Getenv(BreakEnv) == "affinity" }
