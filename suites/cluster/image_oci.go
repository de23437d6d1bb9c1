package cluster

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations naming the image in an OCI archive's index.json: the tag for
// tools that follow the OCI spec (skopeo's oci-archive:FILE:TAG), the whole
// name for containerd (ctr images import).
const (
	annotationRefName       = "org.opencontainers.image.ref.name"
	annotationContainerdRef = "io.containerd.image.name"
)

// WriteOCIArchive writes the svccheck image named ref, holding binary at
// ImageBinaryPath, as an OCI image layout in a tar stream (what skopeo
// calls oci-archive): oci-layout, index.json naming the image, and the
// manifest, config and layer blobs, with OCI media types.
func WriteOCIArchive(w io.Writer, ref string, binary []byte) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("parsing image name %q: %w", ref, err)
	}
	img, err := ociImage(binary)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "svccheck-oci-")
	if err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	annotations := map[string]string{annotationRefName: tag.TagStr(), annotationContainerdRef: tag.Name()}
	if err := p.AppendImage(img, layout.WithAnnotations(annotations)); err != nil {
		return fmt.Errorf("writing the image into the OCI layout: %w", err)
	}
	return tarDir(w, dir)
}

// ociImage builds the svccheck image (one layer, the binary as entrypoint)
// with OCI media types.
func ociImage(binary []byte) (v1.Image, error) {
	layerTar, err := binaryLayerTar(binary)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("building the image layer: %w", err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer})
	if err != nil {
		return nil, fmt.Errorf("building the svccheck image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("building the svccheck image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Entrypoint: []string{ImageBinaryPath}, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("building the svccheck image: %w", err)
	}
	return img, nil
}

// tarDir writes the files under dir into a tar stream, in lexical order,
// with fixed times and owners.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: time.Unix(0, 0), Mode: 0o644}
		if d.IsDir() {
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
			return tw.WriteHeader(hdr)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing the OCI archive: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing the OCI archive: %w", err)
	}
	return nil
}
