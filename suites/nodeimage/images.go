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

// kubeProxyBinary is where kube-proxy's binary sits in its image; its usual
// path holds kubeProxyWrapper.
const kubeProxyBinary = "/usr/local/bin/kube-proxy-bin"

// kubeProxyWrapper makes kube-proxy use the iptables backend (legacy or nft)
// that already holds the node's rules, as kind's node entrypoint does for
// the node itself, then runs kube-proxy.
const kubeProxyWrapper = `#!/bin/sh
legacy=$( (iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null | grep -c '^-')
nft=$( (iptables-nft-save; ip6tables-nft-save) 2>/dev/null | grep -c '^-')
mode=nft
if [ "${legacy:-0}" -gt "${nft:-0}" ]; then mode=legacy; fi
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null
exec ` + kubeProxyBinary + ` "$@"
`

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
	want = append(want, strings.Fields(out)...)
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
	files := []layerFile{{src: filepath.Join(binDir, s.binary), dst: s.path}}
	if s.baseTar != "" && s.binary == "kube-proxy" {
		// kube-proxy's pod runs /usr/local/bin/kube-proxy: a script that
		// picks the node's iptables backend, then runs the binary.
		files = []layerFile{
			{src: filepath.Join(binDir, s.binary), dst: kubeProxyBinary},
			{data: []byte(kubeProxyWrapper), dst: s.path},
		}
	}
	if err := writeFilesLayer(files, layerTar); err != nil {
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

// layerFile is one regular file of a layer: the contents of src, or data
// when src is empty.
type layerFile struct {
	src  string
	data []byte
	dst  string // absolute path in the image
}

// writeFilesLayer writes a tar layer holding files, with their parent
// directories, mode 0755 and root ownership.
func writeFilesLayer(files []layerFile, layerTar string) error {
	f, err := os.Create(layerTar)
	if err != nil {
		return fmt.Errorf("creating layer: %w", err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	dirs := map[string]bool{}
	for _, lf := range files {
		rel := strings.TrimPrefix(lf.dst, "/")
		parts := strings.Split(path.Dir(rel), "/")
		for i := range parts {
			if parts[0] == "." {
				break
			}
			d := strings.Join(parts[:i+1], "/") + "/"
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}); err != nil {
				return fmt.Errorf("writing layer: %w", err)
			}
		}
		if err := writeLayerFile(tw, lf, rel); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing layer: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing layer: %w", err)
	}
	return nil
}

func writeLayerFile(tw *tar.Writer, lf layerFile, rel string) error {
	if lf.src == "" {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o755, Size: int64(len(lf.data))}); err != nil {
			return fmt.Errorf("writing layer: %w", err)
		}
		if _, err := tw.Write(lf.data); err != nil {
			return fmt.Errorf("writing layer: %w", err)
		}
		return nil
	}
	in, err := os.Open(lf.src)
	if err != nil {
		return fmt.Errorf("opening %s: %w", lf.src, err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", lf.src, err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o755, Size: st.Size()}); err != nil {
		return fmt.Errorf("writing layer: %w", err)
	}
	if _, err := in.WriteTo(tw); err != nil {
		return fmt.Errorf("writing layer: %w", err)
	}
	return nil
}
