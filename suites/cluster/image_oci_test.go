package cluster

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestWriteOCIArchive reads the archive back as the OCI image layout spec
// describes it: index.json names the image and points at its manifest, the
// manifest at the config and the layer, every blob's name is its sha256,
// and the layer holds the binary.
func TestWriteOCIArchive(t *testing.T) {
	binary := []byte("not really an ELF file")
	var buf bytes.Buffer
	if err := WriteOCIArchive(&buf, ImageRepository+":0123456789abcdef", binary); err != nil {
		t.Fatal(err)
	}
	files := untar(t, buf.Bytes())
	var lay struct{ ImageLayoutVersion string }
	decode(t, files["oci-layout"], &lay)
	if lay.ImageLayoutVersion != "1.0.0" {
		t.Errorf("oci-layout: version %q, want 1.0.0", lay.ImageLayoutVersion)
	}
	var index v1.IndexManifest
	decode(t, files["index.json"], &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index.json has %d manifests, want 1", len(index.Manifests))
	}
	desc := index.Manifests[0]
	if desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want %s", desc.MediaType, types.OCIManifestSchema1)
	}
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != "0123456789abcdef" {
		t.Errorf("ref.name annotation %q, want the tag", got)
	}
	if got := desc.Annotations["io.containerd.image.name"]; got != ImageRepository+":0123456789abcdef" {
		t.Errorf("containerd name annotation %q", got)
	}
	var manifest v1.Manifest
	decode(t, blob(t, files, desc.Digest.String()), &manifest)
	if manifest.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("config media type %s", manifest.Config.MediaType)
	}
	var config v1.ConfigFile
	decode(t, blob(t, files, manifest.Config.Digest.String()), &config)
	if config.OS != "linux" || len(config.Config.Entrypoint) != 1 || config.Config.Entrypoint[0] != ImageBinaryPath {
		t.Errorf("config: os %s, entrypoint %v", config.OS, config.Config.Entrypoint)
	}
	if len(manifest.Layers) != 1 || len(config.RootFS.DiffIDs) != 1 {
		t.Fatalf("manifest has %d layers, config %d diff ids; want 1", len(manifest.Layers), len(config.RootFS.DiffIDs))
	}
	layer := manifest.Layers[0]
	if layer.MediaType != types.OCILayer {
		t.Errorf("layer media type %s", layer.MediaType)
	}
	content := blob(t, files, layer.Digest.String())
	if int64(len(content)) != layer.Size {
		t.Errorf("layer size %d, manifest says %d", len(content), layer.Size)
	}
	zr, err := gzip.NewReader(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := "sha256:" + sha256Hex(raw); got != config.RootFS.DiffIDs[0].String() {
		t.Errorf("layer diff id %s, config says %s", got, config.RootFS.DiffIDs[0])
	}
	if got := untar(t, raw)[ImageBinaryPath[1:]]; !bytes.Equal(got, binary) {
		t.Errorf("the layer's %s holds %q, want the binary", ImageBinaryPath, got)
	}
}

func untar(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[hdr.Name] = b
		}
	}
}

// blob returns the blob of digest and checks its content hashes to it.
func blob(t *testing.T, files map[string][]byte, digest string) []byte {
	t.Helper()
	algo, hexd, _ := bytes.Cut([]byte(digest), []byte(":"))
	b, ok := files["blobs/"+string(algo)+"/"+string(hexd)]
	if !ok {
		t.Fatalf("no blob %s in the archive", digest)
	}
	if got := sha256Hex(b); got != string(hexd) {
		t.Fatalf("blob %s hashes to %s", digest, got)
	}
	return b
}

func decode(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("parsing %s: %v", data, err)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
