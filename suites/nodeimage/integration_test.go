package nodeimage

import (
	"bytes"
	"context"
	"os"
	osexec "os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/svccheck/svccheck/internal/testenv"
)

// TestIntegrationEnsure builds (or finds) the node image with Docker and
// checks what kind and kubeadm rely on inside it. A cold build takes about
// 20 minutes, so it runs only when SVCCHECK_NODE_IMAGE=1 is set, as root.
func TestIntegrationEnsure(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: builds a node image")
	}
	if os.Getenv("SVCCHECK_NODE_IMAGE") != "1" {
		t.Skip("set SVCCHECK_NODE_IMAGE=1 to build and check the node image (about 20 minutes cold)")
	}
	testenv.NeedRootAndTools(t, "debootstrap", "debootstrap", "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	image, _, err := Ensure(ctx, Options{Progress: &progress})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	// A second Ensure finds the image and builds nothing.
	start := time.Now()
	again, built, err := Ensure(ctx, Options{})
	if err != nil || again != image || built {
		t.Fatalf("second Ensure = (%q, %v, %v), want (%q, false, nil)", again, built, err, image)
	}
	t.Logf("warm Ensure took %s", time.Since(start))

	cfg, err := osexec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.StopSignal}}", image).CombinedOutput()
	if err != nil {
		t.Fatalf("inspecting %s: %v\n%s", image, err, cfg)
	}
	if got, want := strings.TrimSpace(string(cfg)), `["/usr/local/bin/entrypoint","/sbin/init"] [] SIGRTMIN+3`; got != want && got != strings.Replace(want, "[]", "null", 1) {
		t.Errorf("image config = %s, want %s", got, want)
	}
	inImage := func(script string) string {
		t.Helper()
		out, err := osexec.CommandContext(ctx, "docker", "run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("running %q in %s: %v\n%s", script, image, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := inImage("cat /kind/version"); got != DefaultKubernetesVersion {
		t.Errorf("/kind/version = %q, want %q", got, DefaultKubernetesVersion)
	}
	if got := inImage("kubeadm version -o short"); got != DefaultKubernetesVersion {
		t.Errorf("kubeadm version = %q, want %q", got, DefaultKubernetesVersion)
	}
	stamp := inImage("kubeadm version -o json | jq -r '.clientVersion | [.gitTreeState, .buildDate, .gitCommit] | join(\" \")'")
	if !regexp.MustCompile(`^clean \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ [0-9a-f]{40}$`).MatchString(stamp) {
		t.Errorf("kubeadm version stamp (tree state, build date, commit) = %q, want clean, a date and a commit", stamp)
	}
	if got := inImage("kubelet --version"); got != "Kubernetes "+DefaultKubernetesVersion {
		t.Errorf("kubelet --version = %q, want Kubernetes %s", got, DefaultKubernetesVersion)
	}
	for _, f := range []string{"/usr/local/bin/entrypoint", "/usr/local/bin/containerd", "/etc/containerd/cri-base.json", "/opt/cni/bin/ptp", "/opt/cni/bin/host-local", "/opt/cni/bin/loopback", "/opt/cni/bin/portmap", "/sbin/init"} {
		inImage("test -e " + f)
	}
	if got := inImage("grep -c restrict_oom_score_adj.=.true /etc/containerd/config.toml"); got != "1" {
		t.Errorf("containerd config has %s restrict_oom_score_adj = true lines, want 1", got)
	}
	// Every image kubeadm wants is in containerd's k8s.io namespace.
	script := `containerd >/dev/null 2>&1 & for i in $(seq 1 50); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done; ctr -n k8s.io images list -q`
	out, err := osexec.CommandContext(ctx, "docker", "run", "--rm", "--privileged", "--entrypoint", "/bin/sh", image, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("listing preloaded images: %v\n%s", err, out)
	}
	b := &builder{recipe: recipes[DefaultKubernetesVersion]}
	for _, s := range b.imageSpecs("") {
		if !strings.Contains(string(out), s.ref) {
			t.Errorf("image %s is not preloaded; containerd has:\n%s", s.ref, out)
		}
	}
}
