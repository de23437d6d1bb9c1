package nodeimage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
)

// kubernetesCommands are built from k8s.io/kubernetes. The first three go
// into the node's /usr/bin, the others become control-plane images.
var kubernetesCommands = []string{
	"kubelet", "kubeadm", "kubectl",
	"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy",
}

// moduleInfo is what `go mod download -json` reports about a module.
type moduleInfo struct {
	Path    string
	Version string
	Info    string // path of the .info file, which holds the commit time
	GoMod   string
	Dir     string
	Error   string
	Origin  struct {
		Hash string
	}
}

// goEnv are the environment settings of every Go build.
var goEnv = []string{"CGO_ENABLED=0", "GOFLAGS=-mod=mod"}

// downloadModule fetches a module through the Go module proxy.
func (b *builder) downloadModule(ctx context.Context, path, version string) (moduleInfo, error) {
	out, err := b.run.output(ctx, "go", "mod", "download", "-json", path+"@"+version)
	var info moduleInfo
	if jerr := json.Unmarshal([]byte(out), &info); jerr == nil && info.Error != "" {
		return info, fmt.Errorf("downloading Go module %s@%s: %s", path, version, info.Error)
	}
	if err != nil {
		return info, fmt.Errorf("downloading Go module %s@%s: %w", path, version, err)
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return info, fmt.Errorf("reading go mod download output for %s: %w", path, err)
	}
	return info, nil
}

// buildModule writes a throwaway module in dir that requires path@version
// (plus replace directives), and builds pkgs from it into outDir.
// out is a directory ending in a slash, or the output file of a single package.
func (b *builder) buildModule(ctx context.Context, dir, out, path, version string, replaces map[string]string, ldflags string, pkgs ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating build module: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating binary directory: %w", err)
	}
	var gomod strings.Builder
	fmt.Fprintf(&gomod, "module svccheck.invalid/build\n\ngo 1.26\n\nrequire %s %s\n", path, version)
	froms := make([]string, 0, len(replaces))
	for from := range replaces {
		froms = append(froms, from)
	}
	sort.Strings(froms)
	for _, from := range froms {
		fmt.Fprintf(&gomod, "\nreplace %s => %s", from, replaces[from])
	}
	gomod.WriteString("\n")
	modPath := filepath.Join(dir, "go.mod")
	if old, err := os.ReadFile(modPath); err != nil || !sameRequires(string(old), gomod.String()) {
		if err := os.WriteFile(modPath, []byte(gomod.String()), 0o644); err != nil {
			return fmt.Errorf("writing build module: %w", err)
		}
	}
	args := []string{"-C", dir, "build", "-trimpath", "-ldflags", "-s -w " + ldflags, "-o", out}
	args = append(args, pkgs...)
	if _, err := b.run.run(ctx, cmdSpec{name: "go", args: args, env: goEnv}); err != nil {
		return fmt.Errorf("building %s: %w", path, err)
	}
	return nil
}

// sameRequires reports whether a go.mod already written (and possibly
// extended with indirect requirements by go build -mod=mod) still starts
// with the wanted directives, so a cached build module is reused.
func sameRequires(old, want string) bool {
	f, err := modfile.Parse("go.mod", []byte(old), nil)
	if err != nil {
		return false
	}
	w, err := modfile.Parse("go.mod", []byte(want), nil)
	if err != nil {
		return false
	}
	if len(f.Replace) != len(w.Replace) {
		return false
	}
	for _, r := range w.Require {
		found := false
		for _, o := range f.Require {
			if o.Mod == r.Mod {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// buildKubernetes builds the Kubernetes commands with version stamps.
func (b *builder) buildKubernetes(ctx context.Context, outDir string) error {
	v := b.recipe.KubernetesVersion
	info, err := b.downloadModule(ctx, "k8s.io/kubernetes", v)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(info.GoMod)
	if err != nil {
		return fmt.Errorf("reading k8s.io/kubernetes go.mod: %w", err)
	}
	f, err := modfile.Parse(info.GoMod, data, nil)
	if err != nil {
		return fmt.Errorf("parsing k8s.io/kubernetes go.mod: %w", err)
	}
	major, minor, err := splitVersion(v)
	if err != nil {
		return err
	}
	staging := "v0." + minor + "." + patchOf(v)
	replaces := map[string]string{}
	for _, r := range f.Replace {
		if strings.HasPrefix(r.New.Path, "./staging/") {
			replaces[r.Old.Path] = r.Old.Path + " " + staging
		}
	}
	date, err := moduleTime(info.Info)
	if err != nil {
		return err
	}
	commit := info.Origin.Hash
	if commit == "" {
		commit = "0000000000000000000000000000000000000000"
	}
	var ld []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		for _, kv := range [][2]string{
			{"gitVersion", v}, {"gitMajor", major}, {"gitMinor", minor}, {"gitTreeState", "clean"},
			{"gitCommit", commit}, {"buildDate", date},
		} {
			ld = append(ld, "-X "+pkg+"."+kv[0]+"="+kv[1])
		}
	}
	pkgs := make([]string, 0, len(kubernetesCommands))
	for _, c := range kubernetesCommands {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+c)
	}
	dir := filepath.Join(b.opts.CacheDir, "build", "kubernetes-"+v)
	return b.buildModule(ctx, dir, outDir+"/", "k8s.io/kubernetes", v, replaces, strings.Join(ld, " "), pkgs...)
}

// buildEtcd builds etcd; its main package is the root of its server module.
func (b *builder) buildEtcd(ctx context.Context, outDir string) error {
	dir := filepath.Join(b.opts.CacheDir, "build", "etcd-"+b.recipe.EtcdVersion)
	return b.buildModule(ctx, dir, filepath.Join(outDir, "etcd"), "go.etcd.io/etcd/server/v3", b.recipe.EtcdVersion, nil, "", "go.etcd.io/etcd/server/v3")
}

// buildCoreDNS builds CoreDNS with its default plugins.
func (b *builder) buildCoreDNS(ctx context.Context, outDir string) error {
	dir := filepath.Join(b.opts.CacheDir, "build", "coredns-"+b.recipe.CoreDNSVersion)
	return b.buildModule(ctx, dir, filepath.Join(outDir, "coredns"), "github.com/coredns/coredns", b.recipe.CoreDNSVersion, nil, "", "github.com/coredns/coredns")
}

// pauseSource is the pod sandbox's program: it waits for a signal and reaps
// children, like Kubernetes' pause.
const pauseSource = `package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
`

// buildPause builds the pause program from pauseSource.
func (b *builder) buildPause(ctx context.Context, outDir string) error {
	dir := filepath.Join(b.opts.CacheDir, "build", "pause")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating pause module: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module pause\n\ngo 1.26\n"), 0o644); err != nil {
		return fmt.Errorf("writing pause module: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(pauseSource), 0o644); err != nil {
		return fmt.Errorf("writing pause module: %w", err)
	}
	_, err := b.run.run(ctx, cmdSpec{name: "go", args: []string{"-C", dir, "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(outDir, "pause"), "."}, env: goEnv})
	if err != nil {
		return fmt.Errorf("building pause: %w", err)
	}
	return nil
}

// splitVersion returns the major and minor numbers of a version like v1.37.0.
func splitVersion(v string) (major, minor string, err error) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) != 3 {
		return "", "", fmt.Errorf("malformed Kubernetes version %q, want vMAJOR.MINOR.PATCH", v)
	}
	return parts[0], parts[1], nil
}

func patchOf(v string) string {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	return parts[len(parts)-1]
}

// moduleTime returns the time recorded in a module's .info file, in the
// format Kubernetes stamps as its build date.
func moduleTime(infoPath string) (string, error) {
	data, err := os.ReadFile(infoPath)
	if err != nil {
		return "", fmt.Errorf("reading module info: %w", err)
	}
	var info struct{ Time time.Time }
	if err := json.Unmarshal(data, &info); err != nil {
		return "", fmt.Errorf("parsing module info %s: %w", infoPath, err)
	}
	if info.Time.IsZero() {
		return "", fmt.Errorf("module info %s has no time", infoPath)
	}
	return info.Time.UTC().Format("2006-01-02T15:04:05Z"), nil
}
