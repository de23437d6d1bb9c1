package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// demoKubeconfig is a kubeconfig as kind generates it for cluster demo.
const demoKubeconfig = `apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://127.0.0.1:40001
    insecure-skip-tls-verify: true
  name: kind-demo
contexts:
- context:
    cluster: kind-demo
    user: kind-demo
  name: kind-demo
current-context: kind-demo
users:
- name: kind-demo
  user:
    token: demo-token
`

// userKubeconfig is a user's kubeconfig holding cluster prod and, merged in
// by kind, cluster demo; currentContext is its current-context.
func userKubeconfig(currentContext string) string {
	return `apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://prod.example:6443
  name: prod
- cluster:
    server: https://127.0.0.1:40001
    insecure-skip-tls-verify: true
  name: kind-demo
contexts:
- context:
    cluster: prod
    user: prod-admin
  name: prod
- context:
    cluster: kind-demo
    user: kind-demo
  name: kind-demo
current-context: ` + currentContext + `
preferences: {}
users:
- name: prod-admin
  user:
    token: prod-token
- name: kind-demo
  user:
    token: demo-token
`
}

// kubeconfigEntries names what a kubeconfig file holds.
type kubeconfigEntries struct {
	Clusters, Users, Contexts []string
	Current                   string
}

func readEntries(t *testing.T, path string) kubeconfigEntries {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return entriesOf(cfg)
}

func entriesOf(cfg *clientcmdapi.Config) kubeconfigEntries {
	var e kubeconfigEntries
	for n := range cfg.Clusters {
		e.Clusters = append(e.Clusters, n)
	}
	for n := range cfg.AuthInfos {
		e.Users = append(e.Users, n)
	}
	for n := range cfg.Contexts {
		e.Contexts = append(e.Contexts, n)
	}
	slices.Sort(e.Clusters)
	slices.Sort(e.Users)
	slices.Sort(e.Contexts)
	e.Current = cfg.CurrentContext
	return e
}

// isolateHome points HOME (and so DefaultKubeconfigPath) at a fresh
// directory and unsets KUBECONFIG, returning the directory.
func isolateHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	return home
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOwnsKubeconfig(t *testing.T) {
	home := isolateHome(t)
	t.Chdir(home)
	for _, tc := range []struct {
		name string
		path string
		want bool
	}{
		{"default path", filepath.Join(home, ".kube", "svccheck-demo.yaml"), true},
		{"default path, relative", filepath.Join(".kube", "svccheck-demo.yaml"), true},
		{"default path, unclean", home + "/.kube/../.kube/svccheck-demo.yaml", true},
		{"user's kubeconfig", filepath.Join(home, ".kube", "config"), false},
		{"another cluster's default path", filepath.Join(home, ".kube", "svccheck-other.yaml"), false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownsKubeconfig("demo", tc.path); got != tc.want {
				t.Errorf("ownsKubeconfig(demo, %q) = %t, want %t", tc.path, got, tc.want)
			}
		})
	}
}

// TestUseKubeconfig checks the create side: after kind merged the cluster
// into a user's kubeconfig, building the clients must leave that file as kind
// left it, while svccheck's own file holds exactly the cluster's kubeconfig.
func TestUseKubeconfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		// path is relative to HOME.
		path     string
		existing string // "" for no file
		want     string
	}{
		{name: "user's kubeconfig keeps every entry", path: ".kube/config",
			existing: userKubeconfig("kind-demo"), want: userKubeconfig("kind-demo")},
		{name: "user's kubeconfig elsewhere keeps every entry", path: "work/kubeconfig.yaml",
			existing: userKubeconfig("prod"), want: userKubeconfig("prod")},
		{name: "svccheck's own file is replaced whole", path: ".kube/svccheck-demo.yaml",
			existing: userKubeconfig("prod"), want: demoKubeconfig},
		{name: "svccheck's own file is created", path: ".kube/svccheck-demo.yaml", want: demoKubeconfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := isolateHome(t)
			path := filepath.Join(home, tc.path)
			if tc.existing != "" {
				writeFile(t, path, tc.existing)
			}
			c := &Cluster{Name: "demo", KubeconfigPath: path}
			if err := c.useKubeconfig([]byte(demoKubeconfig)); err != nil {
				t.Fatalf("useKubeconfig: %v", err)
			}
			if diff := cmp.Diff(tc.want, readFile(t, path)); diff != "" {
				t.Errorf("%s after useKubeconfig (-want +got):\n%s", tc.path, diff)
			}
			if c.RESTConfig == nil || c.RESTConfig.Host != "https://127.0.0.1:40001" || c.RESTConfig.BearerToken != "demo-token" {
				t.Errorf("RESTConfig = %+v, want the demo cluster's server and token", c.RESTConfig)
			}
			if c.Clientset == nil {
				t.Error("Clientset is nil")
			}
		})
	}
}

// fakeDocker puts a docker command on PATH that answers what Delete runs,
// for a kind cluster demo whose node containers are gone, so kind's own
// Delete runs for real (it lists the nodes, removes the cluster's kubeconfig
// entries, and has no node left to delete). It fails any other command.
func fakeDocker(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	script := `#!/bin/sh
case "$*" in
'info --format {{.ServerVersion}}') echo 27.0.0 ;;
'ps -a --filter label=io.x-k8s.kind.cluster --format {{.Label "io.x-k8s.kind.cluster"}}') echo demo ;;
'ps -a --filter label=io.x-k8s.kind.cluster=demo --format {{.Names}}') ;;
'ps -aq --filter label=io.svccheck.external-client-of=demo') ;;
*) echo "fake docker: unexpected: docker $*" >&2; exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestDeleteKubeconfig checks the delete side: a user's kubeconfig loses only
// the cluster's entries and stays, svccheck's own file goes.
func TestDeleteKubeconfig(t *testing.T) {
	prodOnly := []string{"prod"}
	for _, tc := range []struct {
		name string
		// kubeconfig is the --kubeconfig value relative to HOME; "" for none.
		kubeconfig string
		current    string
		want       kubeconfigEntries
	}{
		{name: "entries removed, current context cleared", kubeconfig: ".kube/config", current: "kind-demo",
			want: kubeconfigEntries{Clusters: prodOnly, Users: []string{"prod-admin"}, Contexts: prodOnly}},
		{name: "entries removed, other current context kept", kubeconfig: "work/kubeconfig.yaml", current: "prod",
			want: kubeconfigEntries{Clusters: prodOnly, Users: []string{"prod-admin"}, Contexts: prodOnly, Current: "prod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := isolateHome(t)
			fakeDocker(t)
			path := filepath.Join(home, tc.kubeconfig)
			writeFile(t, path, userKubeconfig(tc.current))
			own := filepath.Join(home, ".kube", "svccheck-demo.yaml")
			writeFile(t, own, demoKubeconfig)

			if err := Delete(context.Background(), "demo", path); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if diff := cmp.Diff(tc.want, readEntries(t, path)); diff != "" {
				t.Errorf("%s after Delete (-want +got):\n%s", tc.kubeconfig, diff)
			}
			if _, err := os.Stat(own); !os.IsNotExist(err) {
				t.Errorf("svccheck's own kubeconfig %s left after Delete (stat: %v)", own, err)
			}
		})
	}
}

// TestDeleteDefaultKubeconfig deletes without --kubeconfig: svccheck's own
// file goes, and the user's ~/.kube/config is not touched, even though it
// holds entries named after the cluster.
func TestDeleteDefaultKubeconfig(t *testing.T) {
	home := isolateHome(t)
	fakeDocker(t)
	user := filepath.Join(home, ".kube", "config")
	writeFile(t, user, userKubeconfig("kind-demo"))
	own := filepath.Join(home, ".kube", "svccheck-demo.yaml")
	writeFile(t, own, demoKubeconfig)

	if err := Delete(context.Background(), "demo", ""); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if diff := cmp.Diff(userKubeconfig("kind-demo"), readFile(t, user)); diff != "" {
		t.Errorf("~/.kube/config after Delete (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(own); !os.IsNotExist(err) {
		t.Errorf("svccheck's own kubeconfig %s left after Delete (stat: %v)", own, err)
	}
}

func TestDeleteNotFound(t *testing.T) {
	isolateHome(t)
	fakeDocker(t)
	if err := Delete(context.Background(), "nope", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete of a cluster kind does not know = %v, want ErrNotFound", err)
	}
}

func TestDeleteCommand(t *testing.T) {
	home := isolateHome(t)
	for _, tc := range []struct {
		name, kubeconfig, want string
	}{
		{"default file", "", "svccheck cluster delete --name demo"},
		{"svccheck's own file", filepath.Join(home, ".kube", "svccheck-demo.yaml"), "svccheck cluster delete --name demo"},
		{"user's file", "/tmp/my config", "svccheck cluster delete --name demo --kubeconfig '/tmp/my config'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deleteCommand("demo", tc.kubeconfig); got != tc.want {
				t.Errorf("deleteCommand = %q, want %q", got, tc.want)
			}
		})
	}
}
