package nodeimage

import (
	"context"
	"errors"
	"fmt"
	osexec "os/exec"
	"strings"
	"syscall"
)

// ErrDockerUnavailable is wrapped by errors saying Docker cannot be used.
var ErrDockerUnavailable = errors.New("docker is not available")

// checkDocker makes sure the docker CLI exists and its daemon answers.
func (b *builder) checkDocker(ctx context.Context) error {
	out, err := b.run.run(ctx, cmdSpec{name: "docker", args: []string{"version", "--format", "{{.Server.Version}}"}})
	if err == nil {
		return nil
	}
	if errors.Is(err, osexec.ErrNotFound) {
		return &dockerError{msg: "Docker is not installed: the docker command is missing (on Debian: apt-get install docker.io)"}
	}
	msg := string(out)
	if strings.Contains(msg, "Cannot connect to the Docker daemon") || strings.Contains(msg, "Is the docker daemon running") {
		return &dockerError{msg: "Docker is not running: start the Docker daemon (for example systemctl start docker)"}
	}
	if strings.Contains(msg, "permission denied") {
		return &dockerError{msg: "permission denied talking to the Docker daemon: run as root or join the docker group"}
	}
	return &dockerError{msg: "Docker does not answer: " + err.Error(), err: err}
}

// dockerError says why Docker cannot be used; it matches
// ErrDockerUnavailable.
type dockerError struct {
	msg string
	err error
}

func (e *dockerError) Error() string { return e.msg }

func (e *dockerError) Unwrap() error { return e.err }

func (e *dockerError) Is(target error) bool { return target == ErrDockerUnavailable }

// imageExists reports whether Docker has the image.
func (b *builder) imageExists(ctx context.Context, image string) (bool, error) {
	out, err := b.run.run(ctx, cmdSpec{name: "docker", args: []string{"image", "inspect", "--format", "{{.Id}}", image}})
	if err == nil {
		return true, nil
	}
	if strings.Contains(strings.ToLower(string(out)), "no such image") {
		return false, nil
	}
	return false, fmt.Errorf("looking for image %s: %w", image, err)
}

// minFreeBytes is the disk space a cold build needs in the cache directory.
const minFreeBytes = 8 << 30

// checkFreeSpace fails early when the cache directory's file system is
// nearly full.
func checkFreeSpace(dir string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("checking free space in %s: %w", dir, err)
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < minFreeBytes {
		return fmt.Errorf("%w: %s has %d MiB free, a node image build needs about %d MiB", ErrDiskFull, dir, free>>20, minFreeBytes>>20)
	}
	return nil
}

// ErrMissingTool is wrapped by errors saying a program the build needs is
// not installed.
var ErrMissingTool = errors.New("required tool missing")

// checkTools makes sure the Go toolchain and debootstrap are installed.
func (b *builder) checkTools(ctx context.Context) error {
	if _, err := b.run.run(ctx, cmdSpec{name: "go", args: []string{"version"}}); err != nil {
		return fmt.Errorf("%w: the go command is needed to build Kubernetes, etcd and CoreDNS: install Go 1.26 or later: %w", ErrMissingTool, err)
	}
	if _, err := b.run.run(ctx, cmdSpec{name: "debootstrap", args: []string{"--version"}}); err != nil {
		return fmt.Errorf("%w: debootstrap is needed to make the node's root filesystem: install it with apt-get install debootstrap: %w", ErrMissingTool, err)
	}
	return nil
}
