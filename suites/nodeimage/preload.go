package nodeimage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// nodeEntrypoint and the other image settings are those of kind's base
// image. Docker's import and commit cannot set a stop signal, so the build
// container is run with it and commit keeps it.
const (
	nodeEntrypoint = `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`
	nodeStopSignal = "SIGRTMIN+3"
	nodeEnv        = `ENV container=docker`
)

// imagesPathInNode is where the image archive is copied in the build
// container; it is removed before the container is committed.
const imagesPathInNode = "/kind/svccheck-images.tar"

// importRootfs makes a Docker image from the node root filesystem tarball.
func (b *builder) importRootfs(ctx context.Context, rootfsTar, image string) error {
	args := []string{"import", "--change", nodeEntrypoint, "--change", nodeEnv, rootfsTar, image}
	// The daemon finishes an import even when its client is killed, so let
	// it finish and report a cancellation afterwards: the caller then
	// removes the image.
	if _, err := b.run.run(context.WithoutCancel(ctx), cmdSpec{name: "docker", args: args}); err != nil {
		return fmt.Errorf("importing the node root filesystem into Docker: %w", err)
	}
	return ctx.Err()
}

// preload runs the node image with its own containerd (under docker's init,
// which reaps containerd once it is stopped), imports the image
// archive into containerd's k8s.io namespace and commits the result as tag.
func (b *builder) preload(ctx context.Context, baseImage, archive, tag string) (err error) {
	container := "svcchk-nodeimage-build-" + randomSuffix()
	// Like imports, container creation and commits are not cut short by a
	// cancellation, so that the deferred clean-up sees what they made.
	if _, err := b.run.run(context.WithoutCancel(ctx), cmdSpec{name: "docker", args: []string{
		"run", "-d", "--init", "--name", container, "--privileged", "--stop-signal", nodeStopSignal, "--entrypoint", "sleep", baseImage, "infinity",
	}}); err != nil {
		b.removeContainer(container)
		return fmt.Errorf("starting the build container: %w", err)
	}
	defer b.removeContainer(container)
	if _, err := b.run.run(ctx, cmdSpec{name: "docker", args: []string{"cp", archive, container + ":" + imagesPathInNode}}); err != nil {
		return fmt.Errorf("copying images into the build container: %w", err)
	}
	exec := func(args ...string) error {
		_, err := b.run.run(ctx, cmdSpec{name: "docker", args: append([]string{"exec", container}, args...)})
		return err
	}
	if err := exec("sh", "-c", "containerd >/var/log/containerd-preload.log 2>&1 & echo $! >/var/run/containerd-preload.pid"); err != nil {
		return fmt.Errorf("starting containerd in the build container: %w", err)
	}
	if err := b.waitContainerd(ctx, exec); err != nil {
		return err
	}
	if err := exec("ctr", "-n", "k8s.io", "images", "import", "--all-platforms", "--no-unpack", "--digests", imagesPathInNode); err != nil {
		return fmt.Errorf("importing images into the node's containerd: %w", err)
	}
	out, err := b.run.output(ctx, "docker", "exec", container, "ctr", "-n", "k8s.io", "images", "list", "-q")
	if err != nil {
		return fmt.Errorf("listing the node's preloaded images: %w", err)
	}
	for _, s := range b.imageSpecs("") {
		if !strings.Contains(out, s.ref) {
			return fmt.Errorf("image %s missing from the node's containerd after import; it has:\n%s", s.ref, out)
		}
	}
	stop := `kill "$(cat /var/run/containerd-preload.pid)"; for i in $(seq 1 50); do kill -0 "$(cat /var/run/containerd-preload.pid)" 2>/dev/null || exit 0; sleep 0.2; done; exit 1`
	if err := exec("sh", "-c", stop); err != nil {
		return fmt.Errorf("stopping containerd in the build container: %w", err)
	}
	if err := exec("rm", "-rf", imagesPathInNode, "/var/run/containerd-preload.pid", "/var/log/containerd-preload.log", "/run/containerd"); err != nil {
		return fmt.Errorf("cleaning the build container: %w", err)
	}
	if _, err := b.run.run(context.WithoutCancel(ctx), cmdSpec{name: "docker", args: []string{
		"commit", "--change", nodeEntrypoint, "--change", "CMD []", "--change", nodeEnv, container, tag,
	}}); err != nil {
		return fmt.Errorf("committing the node image: %w", err)
	}
	return nil
}

// waitContainerd waits until containerd in the build container answers.
func (b *builder) waitContainerd(ctx context.Context, exec func(args ...string) error) error {
	var err error
	for i := 0; i < 60; i++ {
		if err = exec("ctr", "version"); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("containerd in the build container did not answer: %w", err)
}

// removeContainer force-removes a container; it runs even when the build
// was cancelled.
func (b *builder) removeContainer(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = b.run.run(ctx, cmdSpec{name: "docker", args: []string{"rm", "-f", "-v", name}})
}

// removeImage deletes a temporary image; it runs even when the build was
// cancelled.
func (b *builder) removeImage(image string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = b.run.run(ctx, cmdSpec{name: "docker", args: []string{"rmi", "-f", image}})
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
