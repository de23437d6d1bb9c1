package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deadKubeconfig writes a kubeconfig with two contexts: "dead" reaches
// nothing (port 1), "other" names another dead server.
func deadKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const cfg = `apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:1"}
  name: c
- cluster: {server: "https://127.0.0.1:2"}
  name: c2
contexts:
- context: {cluster: c, user: u}
  name: dead
- context: {cluster: c2, user: u}
  name: other
current-context: dead
users:
- name: u
  user: {token: t}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPreflightCleanupImageSaveErrors(t *testing.T) {
	kc := deadKubeconfig(t)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"preflight needs a kubeconfig", []string{"preflight"}, []string{"--kubeconfig is required"}},
		{"preflight, unknown context", []string{"preflight", "--kubeconfig", kc, "--context", "nope", "--image", "x"}, []string{`context "nope"`}},
		{"preflight, dead API server", []string{"preflight", "--kubeconfig", kc, "--image", "x"},
			[]string{"preflight failed on https://127.0.0.1:1", "api: the API server https://127.0.0.1:1 does not answer"}},
		{"preflight, --context picks the server", []string{"preflight", "--kubeconfig", kc, "--context", "other", "--image", "x"},
			[]string{"https://127.0.0.1:2 does not answer"}},
		{"cleanup needs a kubeconfig", []string{"cleanup"}, []string{"--kubeconfig is required"}},
		{"cleanup, --run and --all", []string{"cleanup", "--kubeconfig", kc, "--run", "a", "--all"}, []string{"exclude each other"}},
		{"cleanup, dead API server", []string{"cleanup", "--kubeconfig", kc, "--timeout", "5s"}, []string{"listing namespaces labelled app.kubernetes.io/managed-by=svccheck"}},
		{"image save needs --output", []string{"image", "save"}, []string{"--output is required"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), tt.args, &stdout, &stderr)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if got := ExitCode(err); got != ExitUsage {
				t.Errorf("exit code %d, want %d", got, ExitUsage)
			}
		})
	}
}
