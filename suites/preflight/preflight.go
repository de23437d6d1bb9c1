package preflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Defaults of Config.
const (
	// DefaultMinWorkers is how many schedulable Linux worker nodes the
	// specs need: a client and a backend on different nodes.
	DefaultMinWorkers = 2
	// DefaultPullTimeout bounds the image check's pod.
	DefaultPullTimeout = 90 * time.Second
	// DefaultAPITimeout bounds each API request of the preflight.
	DefaultAPITimeout = 30 * time.Second
)

// Config is what the preflight checks and how.
type Config struct {
	// REST reaches the cluster's API server; its Host is named in errors.
	REST *rest.Config
	// Clientset, if set, is used instead of one built from REST.
	Clientset kubernetes.Interface
	// Image is the svccheck image the run's pods use; the image check
	// starts one pod from it. Empty skips the image check.
	Image string
	// NamespaceLabels are the labels svccheck's namespaces carry, among
	// them the Pod Security level (pod-security.kubernetes.io/enforce);
	// nil means NamespaceLabels(RunID).
	NamespaceLabels map[string]string
	// RunID labels the preflight's namespace.
	RunID string
	// MinWorkers is how many schedulable Linux worker nodes are needed;
	// zero means DefaultMinWorkers.
	MinWorkers int
	// PullTimeout bounds the wait for the image check's pod; zero means
	// DefaultPullTimeout.
	PullTimeout time.Duration
	// Progress, if set, gets a line as each check ends.
	Progress io.Writer
}

// Check names, in the order Run runs them.
const (
	CheckAPI         = "api"
	CheckPermissions = "permissions"
	CheckNodes       = "nodes"
	CheckPodSecurity = "pod-security"
	CheckImage       = "image"
)

// CheckResult is the outcome of one check.
type CheckResult struct {
	// Name is one of the Check constants.
	Name string
	// Problems are what failed, one line each; none means it passed (or
	// was skipped).
	Problems []string
	// Skipped says why the check did not run, if it did not.
	Skipped string
	// Detail says what a passed check saw.
	Detail string
}

// Passed reports whether the check ran and found nothing wrong.
func (c CheckResult) Passed() bool { return c.Skipped == "" && len(c.Problems) == 0 }

// Result is every check's outcome.
type Result struct {
	// Server is the API server checked.
	Server string
	// Checks are in the order they ran.
	Checks []CheckResult
	// Warnings are what went wrong without failing the preflight.
	Warnings []string
}

// Problems returns every problem found, each prefixed by its check.
func (r Result) Problems() []string {
	var out []string
	for _, c := range r.Checks {
		for _, p := range c.Problems {
			out = append(out, c.Name+": "+p)
		}
	}
	return out
}

// Failed is the error of a preflight that found problems.
type Failed struct {
	Result Result
}

func (f *Failed) Error() string {
	p := f.Result.Problems()
	return fmt.Sprintf("preflight failed on %s, %d problem(s):\n  %s", f.Result.Server, len(p), strings.Join(p, "\n  "))
}

// ErrConfig is returned for a Config Run cannot use.
var ErrConfig = errors.New("preflight configuration")

// Run runs every check and returns their outcomes. The error is a *Failed
// listing every problem when a check failed, or ErrConfig. A check that
// needs what an earlier one found missing (the API, a permission) is
// skipped, saying so. What the image and Pod Security checks create (a
// namespace labelled like svccheck's, one pod) is deleted before Run
// returns.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.REST == nil {
		return Result{}, fmt.Errorf("%w: no REST config", ErrConfig)
	}
	cs := cfg.Clientset
	if cs == nil {
		// Every request of the preflight is short; a server that does
		// not answer must not hold it up.
		rc := rest.CopyConfig(cfg.REST)
		rc.Timeout = DefaultAPITimeout
		var err error
		if cs, err = kubernetes.NewForConfig(rc); err != nil {
			return Result{}, fmt.Errorf("%w: building a client for %s: %w", ErrConfig, cfg.REST.Host, err)
		}
	}
	r := &runner{cfg: cfg.withDefaults(), cs: cs, res: Result{Server: cfg.REST.Host}}
	r.run(ctx)
	if len(r.res.Problems()) > 0 {
		return r.res, &Failed{Result: r.res}
	}
	return r.res, nil
}

func (c Config) withDefaults() Config {
	if c.MinWorkers == 0 {
		c.MinWorkers = DefaultMinWorkers
	}
	if c.PullTimeout == 0 {
		c.PullTimeout = DefaultPullTimeout
	}
	if c.NamespaceLabels == nil {
		c.NamespaceLabels = NamespaceLabels(c.RunID)
	}
	return c
}

// runner runs the checks of one Run.
type runner struct {
	cfg Config
	cs  kubernetes.Interface
	res Result
	// missing is what the permissions check found missing.
	missing []Access
	// workers are the usable workers the nodes check found.
	workers []string
}

func (r *runner) run(ctx context.Context) {
	if !r.add(ctx, CheckAPI, r.checkAPI).Passed() {
		for _, name := range []string{CheckPermissions, CheckNodes, CheckPodSecurity, CheckImage} {
			r.record(CheckResult{Name: name, Skipped: "the API server does not answer"})
		}
		return
	}
	r.add(ctx, CheckPermissions, r.checkPermissions)
	r.add(ctx, CheckNodes, r.checkNodes)
	r.checkWithNamespace(ctx)
}

// add runs check and records its result under name.
func (r *runner) add(ctx context.Context, name string, check func(context.Context) CheckResult) CheckResult {
	c := check(ctx)
	c.Name = name
	r.record(c)
	return c
}

func (r *runner) record(c CheckResult) {
	r.res.Checks = append(r.res.Checks, c)
	if r.cfg.Progress == nil {
		return
	}
	switch {
	case c.Skipped != "":
		fmt.Fprintf(r.cfg.Progress, "  %-12s skipped: %s\n", c.Name, c.Skipped)
	case len(c.Problems) > 0:
		fmt.Fprintf(r.cfg.Progress, "  %-12s FAILED: %d problem(s)\n", c.Name, len(c.Problems))
	default:
		fmt.Fprintf(r.cfg.Progress, "  %-12s ok: %s\n", c.Name, c.Detail)
	}
}

// lacks reports whether the permissions check found any of want missing,
// naming them.
func (r *runner) lacks(want ...Access) string {
	var names []string
	for _, m := range r.missing {
		for _, w := range want {
			if m.Verb == w.Verb && m.Resource == w.Resource && m.Subresource == w.Subresource && m.Group == w.Group {
				names = append(names, m.Verb+" "+m.ResourceName())
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "needs " + strings.Join(names, ", ")
}

func (r *runner) checkAPI(context.Context) CheckResult {
	v, err := r.cs.Discovery().ServerVersion()
	if err == nil {
		return CheckResult{Detail: "Kubernetes " + v.GitVersion}
	}
	return CheckResult{Problems: []string{fmt.Sprintf("the API server %s does not answer: %v; check that the kubeconfig "+
		"(and --context) name the cluster meant, that it is up, and that this machine can reach it", r.cfg.REST.Host, err)}}
}

func (r *runner) checkPermissions(ctx context.Context) CheckResult {
	missing, err := missingAccess(ctx, r.cs, Required())
	if err != nil {
		return CheckResult{Problems: []string{err.Error()}}
	}
	r.missing = missing
	if len(missing) > 0 {
		return CheckResult{Problems: describeMissing(missing)}
	}
	return CheckResult{Detail: fmt.Sprintf("all %d permissions granted", len(Required()))}
}
