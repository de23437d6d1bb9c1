package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/testenv"
)

func TestDumpFlagErrors(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no output", []string{"dump"}, "--output is required"},
		{"name and kubeconfig", []string{"dump", "--output", "x", "--name", "a", "--kubeconfig", "k"}, "exclude each other"},
		{"image without kubeconfig", []string{"dump", "--output", "x", "--image", "i"}, "only apply with --kubeconfig"},
		{"zero timeout", []string{"dump", "--output", "x", "--timeout", "0s"}, "--timeout must be positive"},
		{"zero parallel", []string{"dump", "--output", "x", "--parallel", "0"}, "--parallel must be at least 1"},
		{"short host pod lifetime", []string{"dump", "--output", "x", "--kubeconfig", "k", "--host-pod-lifetime", "10s"}, "--host-pod-lifetime must be at least 1m"},
		{"empty namespace", []string{"dump", "--output", "x", "--namespace", "a,,b"}, "--namespace must not be empty"},
		{"missing kubeconfig", []string{"dump", "--output", "x", "--kubeconfig", kubeconfig}, "reading kubeconfig"},
		{"unknown flag", []string{"dump", "--output", "x", "--bogus"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			if got := ExitCode(err); got != ExitUsage {
				t.Errorf("exit code %d, want %d", got, ExitUsage)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q does not carry the error", stderr.String())
			}
		})
	}
}

// TestDumpUnreachableAPIServer points --kubeconfig at a loopback port
// nothing listens on.
func TestDumpUnreachableAPIServer(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	const cfg = `apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:1"}
  name: c
contexts:
- context: {cluster: c, user: u}
  name: x
current-context: x
users:
- name: u
  user: {token: t}
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"dump", "--output", t.TempDir(), "--kubeconfig", kubeconfig, "--timeout", "5s"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "is unreachable") || !strings.Contains(err.Error(), "https://127.0.0.1:1") {
		t.Fatalf("dump against a dead API server = %v, want an unreachable error naming it", err)
	}
	if got := ExitCode(err); got != ExitUsage {
		t.Errorf("exit code %d, want %d", got, ExitUsage)
	}
}

// TestDumpNoSuchKindCluster needs Docker; without it the error must say so.
func TestDumpNoSuchKindCluster(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"dump", "--output", t.TempDir(), "--name", "svcchk-rp-does-not-exist"}, &stdout, &stderr)
	if err == nil {
		t.Fatalf("dump of a missing cluster succeeded")
	}
	if got := ExitCode(err); got != ExitUsage {
		t.Errorf("exit code %d, want %d", got, ExitUsage)
	}
	msg := err.Error()
	if !strings.Contains(msg, `no kind cluster "svcchk-rp-does-not-exist"`) && !strings.Contains(msg, "is Docker running") {
		t.Errorf("error %q names neither the missing cluster nor Docker", msg)
	}
}

func TestDumpHiddenCommands(t *testing.T) {
	root := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{})
	dump, _, err := root.Find([]string{"dump"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hold", "exec-host"} {
		sub, _, err := dump.Find([]string{name})
		if err != nil || sub.Name() != name || !sub.Hidden {
			t.Errorf("dump %s: found %v (err %v), want a hidden subcommand", name, sub, err)
		}
	}
}

// appMainEnv makes the test binary run as svccheck (see TestMain), so
// tests can run svccheck as a separate process without building it.
const appMainEnv = "SVCCHECK_APP_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(appMainEnv) == "1" {
		os.Exit(ExitCode(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)))
	}
	os.Exit(m.Run())
}

// TestIntegrationDumpExecHost runs exec-host (the test binary acting as
// svccheck) against a scratch root file system holding only a static gofmt
// and a Go file: the command must be found through the node PATH and see
// the scratch root as /.
func TestIntegrationDumpExecHost(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
	testenv.NeedRoot(t, "chroot")
	goroot, err := osexec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		testenv.Unavailable(t, "no go command to find gofmt with: %v", err)
	}
	gofmt := filepath.Join(strings.TrimSpace(string(goroot)), "bin", "gofmt")
	data, err := os.ReadFile(gofmt)
	if err != nil {
		testenv.Unavailable(t, "no gofmt binary to put in the scratch root: %v", err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr", "bin", "gofmt"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "only-in-root.go"), []byte("package   x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	local := &kindexec.LocalCmder{}
	run := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		cmd := local.Command(self, append([]string{"dump", "exec-host", "--root", root, "--"}, args...)...)
		cmd.SetEnv(appMainEnv + "=1").SetStdout(&stdout).SetStderr(&stderr)
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	stdout, stderr, err := run("gofmt", "/only-in-root.go")
	if err != nil {
		t.Fatalf("exec-host gofmt: %v\nstderr: %s", err, stderr)
	}
	if stdout != "package x\n" {
		t.Errorf("exec-host gofmt printed %q, want the scratch root's file formatted", stdout)
	}
	// A missing tool exits 127, like a shell, and says which.
	_, stderr, err = run("iptables-save")
	var re *kindexec.RunError
	var ee *osexec.ExitError
	if !errors.As(err, &re) || !errors.As(re.Inner, &ee) || ee.ExitCode() != 127 {
		t.Fatalf("exec-host of a missing tool = %v, want exit status 127", err)
	}
	if !strings.Contains(stderr, "iptables-save on the node") {
		t.Errorf("stderr %q does not name the missing tool", stderr)
	}
}

// TestDumpHoldEndsByItself: a host pod's hold command exits after --for
// even when nobody deletes the pod.
func TestDumpHoldEndsByItself(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := Run(ctx, []string{"dump", "hold", "--for", "300ms"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("dump hold: %v", err)
	}
	if ctx.Err() != nil || time.Since(start) < 300*time.Millisecond {
		t.Errorf("dump hold --for 300ms returned after %s (context %v), want after 300ms on its own", time.Since(start), ctx.Err())
	}
}
