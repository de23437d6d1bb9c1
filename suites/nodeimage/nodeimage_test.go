package nodeimage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	osexec "os/exec"
)

func TestTag(t *testing.T) {
	dir := t.TempDir()
	tag, err := Tag(Options{CacheDir: dir})
	if err != nil {
		t.Fatalf("Tag: %v", err)
	}
	if !regexp.MustCompile(`^svccheck/node:v1\.37\.0-[0-9a-f]{12}$`).MatchString(tag) {
		t.Errorf("Tag() = %q, want svccheck/node:v1.37.0-<12 hex digits>", tag)
	}
	again, err := Tag(Options{KubernetesVersion: "1.37.0", CacheDir: dir})
	if err != nil {
		t.Fatalf("Tag: %v", err)
	}
	if again != tag {
		t.Errorf("Tag without the v prefix = %q, want %q", again, tag)
	}
	if _, err := Tag(Options{KubernetesVersion: "v1.12.0", CacheDir: dir}); err == nil || !strings.Contains(err.Error(), "no node image recipe") {
		t.Errorf("Tag(v1.12.0) error = %v, want no recipe", err)
	}
}

func TestRecipeHashChangesWithEveryInput(t *testing.T) {
	base, err := recipeFor(DefaultKubernetesVersion)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{base.hash(): "base"}
	for name, change := range map[string]func(r *recipe){
		"kubernetes": func(r *recipe) { r.KubernetesVersion = "v1.37.1" },
		"etcd":       func(r *recipe) { r.EtcdVersion = "v3.7.1" },
		"etcd tag":   func(r *recipe) { r.EtcdImageTag = "3.7.0-1" },
		"coredns":    func(r *recipe) { r.CoreDNSVersion = "v1.14.7" },
		"pause":      func(r *recipe) { r.PauseVersion = "3.11" },
		"packages":   func(r *recipe) { r.Packages = append(append([]string{}, r.Packages...), "vim") },
		"proxy":      func(r *recipe) { r.ProxyPackages = []string{"iptables"} },
	} {
		r := base
		change(&r)
		h := r.hash()
		if other, ok := seen[h]; ok {
			t.Errorf("changing %s gives the hash of %s (%s)", name, other, h)
		}
		seen[h] = name
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	o, err := Options{}.complete()
	if err != nil {
		t.Fatal(err)
	}
	if o.CacheDir != "/x/cache/svccheck" {
		t.Errorf("CacheDir = %q, want /x/cache/svccheck", o.CacheDir)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if o, _ = (Options{}).complete(); o.CacheDir != "/home/u/.cache/svccheck" {
		t.Errorf("CacheDir = %q, want /home/u/.cache/svccheck", o.CacheDir)
	}
}

func TestCheckDocker(t *testing.T) {
	const version = "docker version --format {{.Server.Version}}"
	for _, tc := range []struct {
		name   string
		answer fakeAnswer
		want   string // substring of the error; empty for none
	}{
		{name: "running", answer: fakeAnswer{stdout: "20.10.24"}},
		{name: "not installed", answer: fakeAnswer{err: osexec.ErrNotFound}, want: "Docker is not installed: the docker command is missing"},
		{name: "not running", answer: fakeAnswer{
			stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
			err:    errors.New("exit status 1"),
		}, want: "Docker is not running: start the Docker daemon"},
		{name: "permission", answer: fakeAnswer{
			stderr: "permission denied while trying to connect to the Docker daemon socket",
			err:    errors.New("exit status 1"),
		}, want: "run as root or join the docker group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCmder{answers: map[string]fakeAnswer{version: tc.answer}}
			b := &builder{run: runner{cmder: f}}
			err := b.checkDocker(context.Background())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("checkDocker: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkDocker error = %v, want it to contain %q", err, tc.want)
			}
			if !errors.Is(err, ErrDockerUnavailable) {
				t.Errorf("checkDocker error %v does not wrap ErrDockerUnavailable", err)
			}
		})
	}
}

func TestEnsureSkipsBuildWhenDockerHasTheImage(t *testing.T) {
	dir := t.TempDir()
	tag, err := Tag(Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCmder{answers: map[string]fakeAnswer{
		"docker version --format {{.Server.Version}}":  {stdout: "20.10.24"},
		"docker image inspect --format {{.Id}} " + tag: {stdout: "sha256:abc"},
	}}
	got, built, err := Ensure(context.Background(), Options{CacheDir: dir, Cmder: f})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if got != tag || built {
		t.Errorf("Ensure = (%q, %v), want (%q, false)", got, built, tag)
	}
	if len(f.ran) != 2 {
		t.Errorf("Ensure ran %q, want only the docker check and the image lookup", f.ran)
	}
}

func TestEnsureReportsMissingDebootstrap(t *testing.T) {
	dir := t.TempDir()
	tag, err := Tag(Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCmder{answers: map[string]fakeAnswer{
		"docker version --format {{.Server.Version}}":  {stdout: "20.10.24"},
		"docker image inspect --format {{.Id}} " + tag: {stderr: "Error: No such image: " + tag, err: errors.New("exit status 1")},
		"go version":            {stdout: "go version go1.26.8 linux/amd64"},
		"debootstrap --version": {err: osexec.ErrNotFound},
	}}
	_, _, err = Ensure(context.Background(), Options{CacheDir: dir, Cmder: f})
	if !errors.Is(err, ErrMissingTool) || !strings.Contains(err.Error(), "apt-get install debootstrap") {
		t.Errorf("Ensure error = %v, want ErrMissingTool saying how to install debootstrap", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Ensure left %d entries in the cache directory before building", len(entries))
	}
}

func TestCommandError(t *testing.T) {
	var out strings.Builder
	for i := 1; i <= 40; i++ {
		out.WriteString("line " + strings.Repeat("x", i%3) + "\n")
	}
	out.WriteString("write /var/lib/x: no space left on device\n")
	spec := cmdSpec{name: "tar", args: []string{"-cf", "a b.tar", "."}}
	err := commandError(context.Background(), spec, []byte(out.String()), errors.New("exit status 2"))
	if !errors.Is(err, ErrDiskFull) {
		t.Errorf("error %v does not wrap ErrDiskFull", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "tar -cf 'a b.tar' .") {
		t.Errorf("error %q lacks the command line", msg)
	}
	if n := strings.Count(msg, "\nline"); n != outputTailLines-1 {
		t.Errorf("error carries %d output lines before the last, want %d:\n%s", n, outputTailLines-1, msg)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := commandError(ctx, spec, nil, errors.New("signal: killed")); !errors.Is(err, context.Canceled) {
		t.Errorf("error after cancel = %v, want context.Canceled", err)
	}
}

func TestMountsUnder(t *testing.T) {
	mounts, err := mountsUnder("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) == 0 || mounts[len(mounts)-1] != "/proc" {
		t.Errorf("mountsUnder(/proc) = %v, want /proc itself last", mounts)
	}
	none, err := mountsUnder(filepath.Join(t.TempDir(), "x"))
	if err != nil || len(none) != 0 {
		t.Errorf("mountsUnder(empty dir) = %v, %v, want none", none, err)
	}
}
