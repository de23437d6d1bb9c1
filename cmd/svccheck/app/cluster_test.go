package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/svccheck/svccheck/suites/cluster"
)

func TestClusterCreateWorkers(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "create", "--workers", "0"}, "--workers must be at least 1, got 0"},
		{[]string{"cluster", "create", "--workers=-3"}, "--workers must be at least 1, got -3"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			err := Run(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
			if got := ExitCode(err); got != ExitUsage {
				t.Errorf("exit %d (%v), want %d", got, err, ExitUsage)
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
	// Without the flag, the default stands.
	create, _, err := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{}).Find([]string{"cluster", "create"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := create.Flags().Lookup("workers").DefValue, fmt.Sprint(cluster.DefaultWorkers); got != want {
		t.Errorf("--workers default %s, want %s", got, want)
	}
}

func TestClusterErrorHints(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"name clash", fmt.Errorf("creating cluster demo: %w", cluster.ErrExists),
			"creating cluster demo: cluster already exists: delete it with 'svccheck cluster delete --name demo', " +
				"or run the suites on it with 'svccheck run --reuse --name demo'"},
		{"not found", fmt.Errorf("deleting cluster demo: %w", cluster.ErrNotFound),
			"deleting cluster demo: no such cluster (see 'docker ps' for kind clusters)"},
		{"node image not pullable", fmt.Errorf("%w: kindest/node:v9: cannot pull it", cluster.ErrNodeImageUnavailable),
			"node image unavailable: kindest/node:v9: cannot pull it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := clusterError(tc.err, "demo")
			if got := ExitCode(err); got != ExitUsage {
				t.Errorf("exit %d, want %d", got, ExitUsage)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("clusterError (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClusterDeleteKubeconfig runs `cluster delete --kubeconfig` against a
// docker stand-in that knows a cluster demo with no node containers left, so
// kind's own delete runs: the named file must lose only demo's entries.
func TestClusterDeleteKubeconfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	bin := t.TempDir()
	script := `#!/bin/sh
case "$*" in
'info --format {{.ServerVersion}}') echo 27.0.0 ;;
'ps -a --filter label=io.x-k8s.kind.cluster --format {{.Label "io.x-k8s.kind.cluster"}}') echo demo ;;
'ps -a --filter label=io.x-k8s.kind.cluster=demo --format {{.Names}}') ;;
'ps -aq --filter label=io.svccheck.external-client-of=demo') ;;
*) echo "fake docker: unexpected: docker $*" >&2; exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	path := filepath.Join(home, "kubeconfig.yaml")
	kc := `apiVersion: v1
kind: Config
clusters:
- {name: prod, cluster: {server: "https://prod.example:6443"}}
- {name: kind-demo, cluster: {server: "https://127.0.0.1:40001"}}
contexts:
- {name: prod, context: {cluster: prod, user: prod}}
- {name: kind-demo, context: {cluster: kind-demo, user: kind-demo}}
users:
- {name: prod, user: {token: p}}
- {name: kind-demo, user: {token: d}}
current-context: kind-demo
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), []string{"cluster", "delete", "--name", "demo", "--kubeconfig", path}, &stdout, &stderr); err != nil {
		t.Fatalf("cluster delete: %v (stderr %q)", err, stderr.String())
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("reading %s after delete: %v", path, err)
	}
	var got []string
	for n := range cfg.Clusters {
		got = append(got, "cluster "+n)
	}
	for n := range cfg.Contexts {
		got = append(got, "context "+n)
	}
	for n := range cfg.AuthInfos {
		got = append(got, "user "+n)
	}
	sort.Strings(got)
	got = append(got, "current-context "+cfg.CurrentContext)
	want := []string{"cluster prod", "context prod", "user prod", "current-context "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s after cluster delete (-want +got):\n%s", path, diff)
	}
}
