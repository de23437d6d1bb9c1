package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/svccheck/svccheck/suites/nodeimage"
	"sigs.k8s.io/kind/pkg/exec"
)

// pullTimeout bounds the attempt to pull kind's default node image; without
// registry access it fails fast, and a slow pull is not worth waiting for.
const pullTimeout = 20 * time.Second

// defaultCNIManifest is where kind looks for the CNI it installs; images
// without it need svccheck's own pod network set-up.
const defaultCNIManifest = "/kind/manifests/default-cni.yaml"

// chooseNodeImage returns the node image to use: explicit if set (Docker
// must have it), else kind's default image when Docker has it or can pull it,
// else svccheck's air-gapped image (built on first use). disableCNI reports
// that the image brings no CNI of its own.
func chooseNodeImage(ctx context.Context, cmder exec.Cmder, explicit string, prog *progress) (image string, disableCNI bool, err error) {
	switch {
	case explicit != "":
		if !dockerHasImage(ctx, cmder, explicit) {
			return "", false, fmt.Errorf("node image %s: Docker does not have it (build or load it first)", explicit)
		}
		image = explicit
	case dockerHasImage(ctx, cmder, KindDefaultImage):
		image = KindDefaultImage
	case tryPull(ctx, cmder, KindDefaultImage):
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
		prog.step("kind's default node image cannot be pulled here: building the air-gapped node image %s (first use only, takes several minutes)", tag)
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

// tryPull tries to pull image within pullTimeout.
func tryPull(ctx context.Context, cmder exec.Cmder, image string) bool {
	ctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	return cmder.CommandContext(ctx, "docker", "pull", "--quiet", image).Run() == nil
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
