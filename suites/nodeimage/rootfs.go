package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// debianMirror is the Debian archive debootstrap installs from.
const debianMirror = "http://deb.debian.org/debian"

// rootfsTarball returns the path of a cached tarball of a minbase Debian
// root filesystem with packages, making it with debootstrap first when the
// cache lacks it.
func (b *builder) rootfsTarball(ctx context.Context, name string, packages []string) (string, error) {
	key := sha256.Sum256([]byte(debianSuite + "\n" + debianMirror + "\n" + strings.Join(packages, ",")))
	dir := filepath.Join(b.opts.CacheDir, "rootfs")
	tarball := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.tar", name, debianSuite, hex.EncodeToString(key[:])[:12]))
	if _, err := os.Stat(tarball); err == nil {
		return tarball, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating root filesystem cache: %w", err)
	}
	target := filepath.Join(b.work, "debootstrap-"+name)
	args := []string{"--variant=minbase", "--include=" + strings.Join(packages, ","), debianSuite, target, debianMirror}
	if _, err := b.run.run(ctx, cmdSpec{name: "debootstrap", args: args}); err != nil {
		return "", fmt.Errorf("making the %s root filesystem: %w", name, err)
	}
	// Package caches and lists are not needed in an image.
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*", "var/log/*.log"} {
		matches, _ := filepath.Glob(filepath.Join(target, glob))
		for _, m := range matches {
			_ = os.Remove(m)
		}
	}
	tmp := tarball + ".partial"
	if err := b.tarDir(ctx, target, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, tarball); err != nil {
		return "", fmt.Errorf("caching root filesystem: %w", err)
	}
	if err := b.removeTree(ctx, target); err != nil {
		return "", err
	}
	return tarball, nil
}

// tarDir writes the contents of dir to a tarball, keeping numeric owners.
func (b *builder) tarDir(ctx context.Context, dir, tarball string) error {
	if _, err := b.run.run(ctx, cmdSpec{name: "tar", args: []string{"--numeric-owner", "--xattrs", "-C", dir, "-cf", tarball, "."}}); err != nil {
		_ = os.Remove(tarball)
		return fmt.Errorf("archiving %s: %w", dir, err)
	}
	return nil
}

// untar extracts a tarball into dir, keeping owners and permissions.
func (b *builder) untar(ctx context.Context, tarball, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if _, err := b.run.run(ctx, cmdSpec{name: "tar", args: []string{"--numeric-owner", "--xattrs", "-p", "-C", dir, "-xf", tarball}}); err != nil {
		return fmt.Errorf("extracting %s: %w", tarball, err)
	}
	return nil
}

// removeTree unmounts anything still mounted under dir (an interrupted
// debootstrap leaves /proc and /sys mounted in its target) and removes dir.
func (b *builder) removeTree(ctx context.Context, dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if _, err := b.run.run(ctx, cmdSpec{name: "umount", args: []string{"-l", m}}); err != nil {
			return fmt.Errorf("unmounting %s before removing it: %w", m, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", dir, err)
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := fields[4]
		if mp == abs || strings.HasPrefix(mp, abs+"/") {
			mounts = append(mounts, mp)
		}
	}
	// Later mounts are listed later; unmount them first.
	for i, j := 0, len(mounts)-1; i < j; i, j = i+1, j-1 {
		mounts[i], mounts[j] = mounts[j], mounts[i]
	}
	return mounts, nil
}
