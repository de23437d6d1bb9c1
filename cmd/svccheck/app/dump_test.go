package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
