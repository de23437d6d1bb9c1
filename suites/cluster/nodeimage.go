package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/suites/nodeimage"
)

// pullTimeout bounds the attempt to pull kind's default node image; without
// registry access it fails fast, and a slow pull is not worth waiting for.
const pullTimeout = 20 * time.Second

// explicitPullTimeout bounds the pull of an image named with --node-image:
// the user asked for it, and a kind node image of about 1 GB takes minutes
// to pull on an ordinary link.
const explicitPullTimeout = 10 * time.Minute

// pullOutputLines is how many lines of a failed pull's output an error
// carries.
const pullOutputLines = 10

// defaultCNIManifest is where kind looks for the CNI it installs; images
// without it need svccheck's own pod network set-up.
const defaultCNIManifest = "/kind/manifests/default-cni.yaml"

// chooseNodeImage returns the node image to use: explicit if set (pulled when
// Docker does not have it), else kind's default image when Docker has it or
// can pull it, else svccheck's air-gapped image (built on first use).
// disableCNI reports that the image brings no CNI of its own.
func chooseNodeImage(ctx context.Context, cmder exec.Cmder, explicit string, prog *progress) (image string, disableCNI bool, err error) {
	switch {
	case explicit != "":
		if err := ensureExplicitImage(ctx, cmder, explicit, prog); err != nil {
			return "", false, err
		}
		image = explicit
	case dockerHasImage(ctx, cmder, KindDefaultImage):
		image = KindDefaultImage
	case pullImage(ctx, cmder, KindDefaultImage, pullTimeout) == nil:
		prog.step("pulled kind's default node image %s", KindDefaultImage)
		image = KindDefaultImage
	default:
		image, err = ensureAirGappedImage(ctx, prog)
		if err != nil {
			return "", false, err
		}
	}
	hasCNI, err := imageHasDefaultCNI(ctx, cmder, image)
	if err != nil {
		return "", false, err
	}
	return image, !hasCNI, nil
}

// ensureAirGappedImage returns svccheck's air-gapped node image, building it
// when Docker does not have it yet.
func ensureAirGappedImage(ctx context.Context, prog *progress) (string, error) {
	opts := nodeimage.Options{Progress: prog.w}
	tag, err := nodeimage.Tag(opts)
	if err != nil {
		return "", fmt.Errorf("naming the air-gapped node image: %w", err)
	}
	if !dockerHasImage(ctx, localCmder(), tag) {
		prog.step("%s: kind's default node image cannot be pulled here: building the air-gapped node image %s (first use only, takes several minutes)", StageBuild, tag)
	}
	image, built, err := nodeimage.Ensure(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("building the air-gapped node image: %w", err)
	}
	if built {
		prog.step("built node image %s", image)
	}
	return image, nil
}

// dockerHasImage reports whether the local Docker has image.
func dockerHasImage(ctx context.Context, cmder exec.Cmder, image string) bool {
	return cmder.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", image).Run() == nil
}

// ensureExplicitImage makes sure Docker has image, which the user named, by
// pulling it when Docker does not have it, as kind does. A failed pull's
// error names the image, carries what docker said and tells how to do
// without a registry.
func ensureExplicitImage(ctx context.Context, cmder exec.Cmder, image string, prog *progress) error {
	if dockerHasImage(ctx, cmder, image) {
		return nil
	}
	prog.step("pulling node image %s (Docker does not have it)", image)
	stop := prog.heartbeat("pulling node image " + image)
	err := pullImage(ctx, cmder, image, explicitPullTimeout)
	stop()
	if err == nil {
		prog.step("pulled node image %s", image)
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("pulling node image %s: %w", image, ctxErr)
	}
	return fmt.Errorf("%w: %s: Docker does not have it and cannot pull it "+
		"(without registry access, build the air-gapped node image with 'svccheck image build-node' "+
		"and pass the tag it prints to --node-image, or omit --node-image to let svccheck pick one): %w",
		ErrNodeImageUnavailable, image, err)
}

// ErrNodeImageUnavailable is returned by Create when the node image named
// with Options.NodeImage is neither in Docker nor pullable.
var ErrNodeImageUnavailable = errors.New("node image unavailable")

// pullImage pulls image with docker pull, giving up after timeout or when
// ctx ends. Its error carries the tail of docker's output.
func pullImage(ctx context.Context, cmder exec.Cmder, image string, timeout time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{"pull", "--quiet", image}
	lines, err := exec.CombinedOutputLines(cmder.CommandContext(pctx, "docker", args...))
	if err == nil {
		return nil
	}
	if ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("running %s: gave up after %s: %w", exec.PrettyCommand("docker", args...), timeout, pctx.Err())
	}
	if len(lines) > pullOutputLines {
		lines = lines[len(lines)-pullOutputLines:]
	}
	out := strings.TrimSpace(strings.Join(lines, "\n"))
	if out == "" {
		return err
	}
	// err, kind's RunError, already names the command line.
	return fmt.Errorf("%w; output:\n%s", err, out)
}

// imageHasDefaultCNI reports whether image carries kind's default CNI
// manifest (kindnetd), by looking inside a throwaway container.
func imageHasDefaultCNI(ctx context.Context, cmder exec.Cmder, image string) (bool, error) {
	lines, err := exec.OutputLines(cmder.CommandContext(ctx, "docker", "run", "--rm", "--entrypoint", "/bin/sh", image,
		"-c", "if [ -f "+defaultCNIManifest+" ]; then echo yes; else echo no; fi"))
	if err != nil {
		return false, fmt.Errorf("looking for a CNI manifest in node image %s: %w", image, err)
	}
	return strings.TrimSpace(strings.Join(lines, "")) == "yes", nil
}
