package nodeimage

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// imageSpec is one image preloaded into the node: a binary at a path,
// optionally over a base root filesystem tarball.
type imageSpec struct {
	ref        string   // like registry.k8s.io/etcd:3.7.0-0
	binary     string   // file name in the binary directory
	path       string   // where the binary goes in the image
	entrypoint []string // image entrypoint
	baseTar    string   // optional root filesystem tarball under the binary
}

// defaultPath is the PATH of every preloaded image.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// imageSpecs lists the images kubeadm needs, given kube-proxy's base root
// filesystem.
func (b *builder) imageSpecs(proxyBase string) []imageSpec {
	r := b.recipe
	specs := []imageSpec{
		{ref: "registry.k8s.io/etcd:" + r.EtcdImageTag, binary: "etcd", path: "/usr/local/bin/etcd"},
		{ref: "registry.k8s.io/coredns/coredns:" + r.CoreDNSVersion, binary: "coredns", path: "/coredns"},
		{ref: "registry.k8s.io/pause:" + r.PauseVersion, binary: "pause", path: "/pause"},
	}
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"} {
		s := imageSpec{ref: "registry.k8s.io/" + c + ":" + r.KubernetesVersion, binary: c, path: "/usr/local/bin/" + c}
		if c == "kube-proxy" {
			s.baseTar = proxyBase
		}
		specs = append(specs, s)
	}
	for i := range specs {
		specs[i].entrypoint = []string{specs[i].path}
	}
	return specs
}

// checkImageList compares the images kubeadm asks for with the ones built,
// so a recipe that drifts from kubeadm fails here instead of in a cluster.
func (b *builder) checkImageList(ctx context.Context, binDir string, specs []imageSpec) error {
	out, err := b.run.output(ctx, filepath.Join(binDir, "kubeadm"), "config", "images", "list", "--kubernetes-version", b.recipe.KubernetesVersion)
	if err != nil {
		return fmt.Errorf("asking kubeadm which images it needs: %w", err)
	}
	var want, have []string
	for _, l := range strings.Fields(out) {
		want = append(want, l)
	}
	for _, s := range specs {
		have = append(have, s.ref)
	}
	sort.Strings(want)
	sort.Strings(have)
	if strings.Join(want, " ") != strings.Join(have, " ") {
		return fmt.Errorf("kubeadm %s wants images %v, the recipe builds %v", b.recipe.KubernetesVersion, want, have)
	}
	return nil
}

// writeImages assembles the images and writes them to one docker-archive
// tarball at dst.
func (b *builder) writeImages(binDir string, specs []imageSpec, dst string) error {
	refs := map[name.Reference]v1.Image{}
	for _, s := range specs {
		img, err := b.assembleImage(binDir, s)
		if err != nil {
			return fmt.Errorf("assembling image %s: %w", s.ref, err)
		}
		tag, err := name.NewTag(s.ref)
		if err != nil {
			return fmt.Errorf("parsing image name %s: %w", s.ref, err)
		}
		refs[tag] = img
	}
	if err := tarball.MultiRefWriteToFile(dst, refs); err != nil {
		return fmt.Errorf("writing image archive: %w", err)
	}
	return nil
}

// assembleImage makes one image: the base layer, if any, and a layer with
// the binary.
func (b *builder) assembleImage(binDir string, s imageSpec) (v1.Image, error) {
	var layers []v1.Layer
	if s.baseTar != "" {
		base, err := tarball.LayerFromFile(s.baseTar, tarball.WithCompressionLevel(gzip.BestSpeed))
		if err != nil {
			return nil, fmt.Errorf("reading base layer: %w", err)
		}
		layers = append(layers, base)
	}
	layerTar := filepath.Join(b.work, "layer-"+path.Base(s.path)+".tar")
	if err := writeFileLayer(filepath.Join(binDir, s.binary), s.path, layerTar); err != nil {
		return nil, err
	}
	bin, err := tarball.LayerFromFile(layerTar, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return nil, fmt.Errorf("reading binary layer: %w", err)
	}
	layers = append(layers, bin)
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS = "linux"
	cfg.Architecture = runtime.GOARCH
	cfg.Config.Entrypoint = s.entrypoint
	cfg.Config.Env = []string{defaultPath}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting image config: %w", err)
	}
	return img, nil
}

// writeFileLayer writes a tar layer holding src at dst (an absolute path in
// the image), with its parent directories, mode 0755 and root ownership.
func writeFileLayer(src, dst, layerTar string) error {
	f, err := os.Create(layerTar)
	if err != nil {
		return fmt.Errorf("creating layer: %w", err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	rel := strings.TrimPrefix(dst, "/")
	dirs := strings.Split(path.Dir(rel), "/")
	for i := range dirs {
		if dirs[0] == "." {
			break
		}
		d := strings.Join(dirs[:i+1], "/") + "/"
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}); err != nil {
			return fmt.Errorf("writing layer: %w", err)
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("opening %s: %w", src, err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o755, Size: st.Size()}); err != nil {
		return fmt.Errorf("writing layer: %w", err)
	}
	if _, err := in.WriteTo(tw); err != nil {
		return fmt.Errorf("writing layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing layer: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing layer: %w", err)
	}
	return nil
}
