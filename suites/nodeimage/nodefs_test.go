package nodeimage

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/internal/testenv"
)

func TestPatchContainerdConfig(t *testing.T) {
	in := `version = 2

[proxy_plugins]
# a comment
[proxy_plugins."fuse-overlayfs"]
  type = "snapshot"
  address = "/run/fuse.sock"

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  restrict_oom_score_adj = false`
	want := `version = 2

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10.2"
  restrict_oom_score_adj = true
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/opt/cni/bin"
  conf_dir = "/etc/cni/net.d"
`
	got, err := patchContainerdConfig(in, "registry.k8s.io/pause:3.10.2")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patchContainerdConfig (-want +got):\n%s", diff)
	}
	if _, err := patchContainerdConfig("version = 2\n", "p"); err == nil {
		t.Error("patchContainerdConfig of a config without the settings succeeded, want an error")
	}
}

// TestPatchKindContainerdConfig patches the config of the kind module this
// package builds from, read from the Go module cache.
func TestPatchKindContainerdConfig(t *testing.T) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		testenv.Unavailable(t, "no go command: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "sigs.k8s.io", "kind@"+kindVersion, "images/base/files/etc/containerd/config.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		testenv.Unavailable(t, "kind %s is not in the module cache: %v", kindVersion, err)
	}
	got, err := patchContainerdConfig(string(data), "registry.k8s.io/pause:3.10.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"proxy_plugins", "fuse-overlayfs", "restrict_oom_score_adj = false", "pause:3.10\""} {
		if strings.Contains(got, bad) {
			t.Errorf("patched config still contains %q:\n%s", bad, got)
		}
	}
	for _, good := range []string{"restrict_oom_score_adj = true", `sandbox_image = "registry.k8s.io/pause:3.10.2"`, `bin_dir = "/opt/cni/bin"`, `SystemdCgroup = true`} {
		if !strings.Contains(got, good) {
			t.Errorf("patched config lacks %q:\n%s", good, got)
		}
	}
}

func TestAssembleImage(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "etcd"), []byte("#!/bin/true\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	b := &builder{work: dir, recipe: recipes[DefaultKubernetesVersion]}
	img, err := b.assembleImage(dir, imageSpec{ref: "registry.k8s.io/etcd:3.7.0-0", binary: "etcd", path: "/usr/local/bin/etcd", entrypoint: []string{"/usr/local/bin/etcd"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/usr/local/bin/etcd"}, cfg.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" {
		t.Errorf("platform = %s/%s, want linux/<arch>", cfg.OS, cfg.Architecture)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+" "+os.FileMode(h.Mode).String())
	}
	want := []string{"usr/ -rwxr-xr-x", "usr/local/ -rwxr-xr-x", "usr/local/bin/ -rwxr-xr-x", "usr/local/bin/etcd -rwxr-xr-x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
}

func TestImageSpecsMatchKubeadmNames(t *testing.T) {
	b := &builder{recipe: recipes[DefaultKubernetesVersion]}
	var got []string
	for _, s := range b.imageSpecs("/base.tar") {
		got = append(got, s.ref)
		if (s.baseTar != "") != strings.Contains(s.ref, "kube-proxy") {
			t.Errorf("%s: base tarball %q; only kube-proxy has one", s.ref, s.baseTar)
		}
	}
	want := []string{
		"registry.k8s.io/etcd:3.7.0-0",
		"registry.k8s.io/coredns/coredns:v1.14.6",
		"registry.k8s.io/pause:3.10.2",
		"registry.k8s.io/kube-apiserver:v1.37.0",
		"registry.k8s.io/kube-controller-manager:v1.37.0",
		"registry.k8s.io/kube-scheduler:v1.37.0",
		"registry.k8s.io/kube-proxy:v1.37.0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("image refs (-want +got):\n%s", diff)
	}
}

func TestModuleTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.37.0.info")
	if err := os.WriteFile(path, []byte(`{"Version":"v1.37.0","Time":"2026-08-26T10:44:20Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := moduleTime(path)
	if err != nil || got != "2026-08-26T10:44:20Z" {
		t.Errorf("moduleTime = %q, %v; want 2026-08-26T10:44:20Z", got, err)
	}
	if err := os.WriteFile(path, []byte(`{"Version":"v1.37.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := moduleTime(path); err == nil {
		t.Error("moduleTime of an info file without a time succeeded, want an error")
	}
}
