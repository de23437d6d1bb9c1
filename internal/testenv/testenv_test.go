package testenv

import (
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"testing"
)

// recorder is a testing.TB that records a skip or a failure instead of
// stopping the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) { r.skipped = fmt.Sprint(args...) }

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

// fakeEnv is a machine with the given user id, tools and variable value.
func fakeEnv(euid int, require string, tools ...string) env {
	return env{
		getenv:  func(k string) string { return map[string]string{RequireVar: require}[k] },
		geteuid: func() int { return euid },
		lookPath: func(name string) (string, error) {
			for _, t := range tools {
				if t == name {
					return "/usr/sbin/" + name, nil
				}
			}
			return "", errors.New("executable file not found in $PATH")
		},
	}
}

func TestNeedRootAndTools(t *testing.T) {
	for _, tc := range []struct {
		name               string
		euid               int
		require            string
		tools              []string
		wantSkip, wantFail string
	}{
		{name: "root with tools", euid: 0, tools: []string{"ip", "iptables"}},
		{name: "root with tools, required", euid: 0, require: "1", tools: []string{"ip", "iptables"}},
		{name: "not root", euid: 1000, tools: []string{"ip", "iptables"}, wantSkip: "needs root (netns)"},
		{name: "not root, required", euid: 1000, require: "1", tools: []string{"ip", "iptables"},
			wantFail: "needs root (netns), and SVCCHECK_REQUIRE_PRIVILEGED=1 forbids skipping"},
		{name: "not root, other value", euid: 1000, require: "0", wantSkip: "needs root (netns)"},
		{name: "tool missing", euid: 0, tools: []string{"ip"}, wantSkip: "needs iptables on PATH"},
		{name: "tool missing, required", euid: 0, require: "1", tools: []string{"ip"},
			wantFail: "needs iptables on PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fakeEnv(tc.euid, tc.require, tc.tools...)
			r := &recorder{}
			if e.needRoot(r, "netns") {
				e.needTools(r, "ip", "iptables")
			}
			if !strings.HasPrefix(r.skipped, tc.wantSkip) || (tc.wantSkip == "") != (r.skipped == "") {
				t.Errorf("skipped with %q, want %q", r.skipped, tc.wantSkip)
			}
			if !strings.HasPrefix(r.failed, tc.wantFail) || (tc.wantFail == "") != (r.failed == "") {
				t.Errorf("failed with %q, want %q", r.failed, tc.wantFail)
			}
			if strings.Contains(r.failed, "needs iptables") && !strings.Contains(r.failed, "forbids skipping") {
				t.Errorf("failure %q does not name %s", r.failed, RequireVar)
			}
		})
	}
}

// TestUnavailableChild is run by TestUnavailable in a child process.
func TestUnavailableChild(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") != "1" {
		return
	}
	Unavailable(t, "needs a unicorn")
	t.Log("still running after Unavailable")
}

// TestUnavailable runs TestUnavailableChild in a child test process with
// and without SVCCHECK_REQUIRE_PRIVILEGED=1: a real skip, then a real
// failure, and the test never goes on past Unavailable.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		require  string
		wantFail bool
		want     string
	}{
		{require: "", want: "--- SKIP: TestUnavailableChild"},
		{require: "1", wantFail: true, want: "--- FAIL: TestUnavailableChild"},
	} {
		cmd := osexec.Command(os.Args[0], "-test.run=^TestUnavailableChild$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", RequireVar+"="+tc.require)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail {
			t.Errorf("%s=%q: child failed: %v, want %v\n%s", RequireVar, tc.require, failed, tc.wantFail, out)
		}
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "needs a unicorn") {
			t.Errorf("%s=%q: child output lacks %q and the reason:\n%s", RequireVar, tc.require, tc.want, out)
		}
		if strings.Contains(string(out), "still running") {
			t.Errorf("%s=%q: the child went on past Unavailable:\n%s", RequireVar, tc.require, out)
		}
	}
}
