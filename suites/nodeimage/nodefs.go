package nodeimage

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// cniPlugins are copied from Debian's containernetworking-plugins into
// /opt/cni/bin, where kind's containerd config and CNI configs look.
var cniPlugins = []string{"ptp", "bridge", "host-local", "loopback", "portmap"}

// nodeShellSteps run in the node root filesystem (chroot) after kind's files
// are in place: the systemd clean-up of kind's base image, the units kind
// enables, and containerd's base OCI spec with kind's hook.
var nodeShellSteps = []string{
	`find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete`,
	`rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*`,
	`echo ReadKMsg=no >> /etc/systemd/journald.conf`,
	`ln -sf /usr/lib/systemd/systemd /sbin/init`,
	`rm -f /etc/systemd/system/containerd-fuse-overlayfs.service`,
	`systemctl enable kubelet.service containerd.service undo-mount-hacks.service`,
	`systemctl mask systemd-binfmt.service`,
	`ln -sf /usr/bin/containerd /usr/local/bin/containerd`,
	`mkdir -p /etc/kubernetes/manifests /opt/cni/bin /etc/cni/net.d`,
	`ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json`,
}

// prepareNodeRootfs turns an extracted Debian root filesystem into a kind
// node's: kind's contract files, containerd configuration, CNI plugins and
// the kubelet, kubeadm and kubectl binaries.
func (b *builder) prepareNodeRootfs(ctx context.Context, root, binDir string) error {
	kind, err := b.downloadModule(ctx, "sigs.k8s.io/kind", kindVersion)
	if err != nil {
		return err
	}
	files := filepath.Join(kind.Dir, "images", "base", "files")
	if err := copyKindFiles(files, root); err != nil {
		return err
	}
	if err := b.configureContainerd(root); err != nil {
		return err
	}
	for _, p := range cniPlugins {
		if err := copyFile(filepath.Join(root, "usr/lib/cni", p), filepath.Join(root, "opt/cni/bin", p), 0o755); err != nil {
			return fmt.Errorf("installing CNI plugin %s: %w", p, err)
		}
	}
	for _, c := range []string{"kubelet", "kubeadm", "kubectl"} {
		if err := copyFile(filepath.Join(binDir, c), filepath.Join(root, "usr/bin", c), 0o755); err != nil {
			return fmt.Errorf("installing %s: %w", c, err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "kind/version"), []byte(b.recipe.KubernetesVersion), 0o644); err != nil {
		return fmt.Errorf("writing /kind/version: %w", err)
	}
	script := "set -e\n" + strings.Join(nodeShellSteps, "\n") + "\n"
	if _, err := b.run.run(ctx, cmdSpec{name: "chroot", args: []string{root, "/bin/sh", "-c", script}}); err != nil {
		return fmt.Errorf("setting up the node's systemd and containerd: %w", err)
	}
	return nil
}

// copyKindFiles copies kind's images/base/files into root with the modes
// kind's Dockerfile gives them: scripts 0755, everything else 0644.
func copyKindFiles(src, root string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
			mode = 0o755
		}
		if err := copyFile(path, dst, mode); err != nil {
			return fmt.Errorf("copying kind node file %s: %w", rel, err)
		}
		return nil
	})
}

// configureContainerd writes kind's containerd config with the changes a
// node needs here: no fuse-overlayfs plugin, restrict_oom_score_adj (the
// node cannot raise oom_score_adj without CAP_SYS_RESOURCE), the preloaded
// pause image as sandbox image and CNI binaries in /opt/cni/bin.
func (b *builder) configureContainerd(root string) error {
	path := filepath.Join(root, "etc/containerd/config.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading kind's containerd config: %w", err)
	}
	cfg, err := patchContainerdConfig(string(data), "registry.k8s.io/pause:"+b.recipe.PauseVersion)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("writing containerd config: %w", err)
	}
	return nil
}

// patchContainerdConfig applies the node's changes to kind's containerd
// config text.
func patchContainerdConfig(cfg, pauseImage string) (string, error) {
	var out []string
	skipping := false
	found := map[string]bool{}
	for _, line := range strings.Split(cfg, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "[proxy_plugins") {
			skipping = true
			continue
		}
		if skipping && strings.HasPrefix(trimmed, "[") {
			skipping = false
		}
		if skipping {
			continue
		}
		switch {
		case strings.HasPrefix(trimmed, "restrict_oom_score_adj"):
			line, found["oom"] = "  restrict_oom_score_adj = true", true
		case strings.HasPrefix(trimmed, "sandbox_image"):
			line, found["sandbox"] = fmt.Sprintf("  sandbox_image = %q", pauseImage), true
		}
		out = append(out, line)
	}
	for _, k := range []string{"oom", "sandbox"} {
		if !found[k] {
			return "", fmt.Errorf("kind's containerd config has no %s setting to change", k)
		}
	}
	out = append(out,
		`[plugins."io.containerd.grpc.v1.cri".cni]`,
		`  bin_dir = "/opt/cni/bin"`,
		`  conf_dir = "/etc/cni/net.d"`,
		"")
	return strings.Join(out, "\n"), nil
}

// copyFile copies src to dst with mode, creating dst's directory.
func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}
