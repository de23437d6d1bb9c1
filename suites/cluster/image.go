package cluster

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ImageRepository is the repository of the svccheck image; its tag is a hash
// of the svccheck binary inside, so a rebuilt binary gets a new image.
const ImageRepository = "svccheck.local/svccheck"

// ImageBinaryPath is the svccheck binary inside the svccheck image, which is
// also the image's entrypoint.
const ImageBinaryPath = "/usr/local/bin/svccheck"

// ImageName returns the content-addressed name of the svccheck image holding
// the binary at path: ImageRepository:<first 16 hex digits of its sha256>.
func ImageName(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing the svccheck binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing the svccheck binary %s: %w", path, err)
	}
	return ImageRepository + ":" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// imageNameOfRunning returns the image name for the running executable.
func imageNameOfRunning() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the svccheck binary: %w", err)
	}
	return ImageName(self)
}

// ErrNotStatic is returned when the svccheck binary to load onto the nodes
// is not a static linux executable.
var ErrNotStatic = errors.New("svccheck binary is not a static linux executable")

// CheckStaticBinary returns an error unless path is a statically linked
// linux ELF executable for the host's architecture, which is what the node
// containers can run.
func CheckStaticBinary(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %s (build it with 'make build'): %w", ErrNotStatic, path, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if want != 0 && f.Machine != want {
		return fmt.Errorf("%w: %s is built for %v, the nodes need %s", ErrNotStatic, path, f.Machine, runtime.GOARCH)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: %s is dynamically linked and cannot run in the minimal svccheck image; "+
				"build a static one with 'make build' (CGO_ENABLED=0) and run bin/svccheck", ErrNotStatic, path)
		}
	}
	return nil
}

// writeImageArchive writes a docker-archive tarball of the svccheck image
// named ref: one layer holding binary at ImageBinaryPath, entrypoint
// ImageBinaryPath.
func writeImageArchive(w io.Writer, ref string, binary []byte) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("parsing image name %q: %w", ref, err)
	}
	layerTar, err := binaryLayerTar(binary)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return fmt.Errorf("building the image layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("building the svccheck image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("building the svccheck image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{
		Entrypoint: []string{ImageBinaryPath},
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return fmt.Errorf("building the svccheck image: %w", err)
	}
	if err := tarball.Write(tag, img, w); err != nil {
		return fmt.Errorf("writing the svccheck image archive: %w", err)
	}
	return nil
}

// binaryLayerTar returns a tar stream with the directories leading to
// ImageBinaryPath, the binary itself (mode 0755) and an empty /tmp.
func binaryLayerTar(binary []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	for _, d := range []string{"usr/", "usr/local/", "usr/local/bin/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime}); err != nil {
			return nil, fmt.Errorf("building the image layer: %w", err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: mtime}); err != nil {
		return nil, fmt.Errorf("building the image layer: %w", err)
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: ImageBinaryPath[1:], Mode: 0o755, Size: int64(len(binary)), ModTime: mtime}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("building the image layer: %w", err)
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, fmt.Errorf("building the image layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("building the image layer: %w", err)
	}
	return buf.Bytes(), nil
}
