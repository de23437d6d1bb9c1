package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"
)

// DefaultKubernetesVersion is the Kubernetes version of the air-gapped node image.
const DefaultKubernetesVersion = "v1.37.0"

// Repository is the repository part of the node image tags this package
// makes, unless RepositoryEnv or Options.Repository names another.
const Repository = "svccheck/node"

// RepositoryEnv names the environment variable that, when set, replaces
// Repository in the tags Ensure and Tag use: a build under another name
// leaves the cached image alone (the interruption tests build and
// interrupt one).
const RepositoryEnv = "SVCCHECK_NODE_IMAGE_REPOSITORY"

// builderVersion names the recipe. Bump it whenever the way the image is
// built changes, so images built by an older recipe are not reused.
const builderVersion = "3"

// kindVersion is the version of sigs.k8s.io/kind whose node contract files
// (entrypoint, systemd units, containerd config) go into the image.
const kindVersion = "v0.33.0"

// debianSuite is the Debian release the node's root filesystem comes from.
const debianSuite = "bookworm"

// Options tells Ensure and Tag which image to make and where to keep
// intermediate products.
type Options struct {
	// KubernetesVersion is the version to build, like "v1.37.0".
	// Empty means DefaultKubernetesVersion.
	KubernetesVersion string
	// Repository is the repository part of the tag. Empty means
	// $SVCCHECK_NODE_IMAGE_REPOSITORY, or Repository when that is unset.
	Repository string
	// CacheDir keeps the root filesystem tarball, the Kubernetes build module
	// and the built binaries. Empty means $XDG_CACHE_HOME/svccheck, or
	// ~/.cache/svccheck when XDG_CACHE_HOME is unset.
	CacheDir string
	// Progress, when not nil, gets a line when each build stage starts, a
	// "still running" line about every 30 s while it runs, and a line with
	// the time it took when it ends. Each line is written whole, in one
	// Write, even though some stages run concurrently.
	Progress io.Writer
	// Cmder runs every command (docker, go, debootstrap). Nil means the local
	// machine.
	Cmder exec.Cmder
}

// Ensure returns the tag of the node image for opts, building it first when
// Docker does not have it. built reports whether a build happened.
func Ensure(ctx context.Context, opts Options) (image string, built bool, err error) {
	o, err := opts.complete()
	if err != nil {
		return "", false, err
	}
	b := &builder{opts: o, cmder: o.Cmder}
	return b.ensure(ctx)
}

// Tag returns the content-addressed tag Ensure would use, without building.
func Tag(opts Options) (string, error) {
	o, err := opts.complete()
	if err != nil {
		return "", err
	}
	r, err := recipeFor(o.KubernetesVersion)
	if err != nil {
		return "", err
	}
	return o.Repository + ":" + o.KubernetesVersion + "-" + r.hash(), nil
}

// complete fills in the defaults of opts.
func (o Options) complete() (Options, error) {
	if o.KubernetesVersion == "" {
		o.KubernetesVersion = DefaultKubernetesVersion
	}
	if !strings.HasPrefix(o.KubernetesVersion, "v") {
		o.KubernetesVersion = "v" + o.KubernetesVersion
	}
	if o.Repository == "" {
		o.Repository = os.Getenv(RepositoryEnv)
	}
	if o.Repository == "" {
		o.Repository = Repository
	}
	if o.CacheDir == "" {
		dir, err := defaultCacheDir()
		if err != nil {
			return o, err
		}
		o.CacheDir = dir
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Cmder == nil {
		o.Cmder = exec.DefaultCmder
	}
	return o, nil
}

func defaultCacheDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "svccheck"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "svccheck"), nil
}

// recipe is everything that decides the content of a node image.
type recipe struct {
	// KubernetesVersion is the version of k8s.io/kubernetes built.
	KubernetesVersion string
	// EtcdVersion is the go.etcd.io/etcd/server/v3 module version; the image
	// tag kubeadm wants is EtcdImageTag.
	EtcdVersion  string
	EtcdImageTag string
	// CoreDNSVersion is the github.com/coredns/coredns module version, also
	// its image tag.
	CoreDNSVersion string
	// PauseVersion is the tag of the pause image kubeadm and the node's
	// containerd use.
	PauseVersion string
	// Packages are the Debian packages of the node's root filesystem.
	Packages []string
	// ProxyPackages are the Debian packages of kube-proxy's image.
	ProxyPackages []string
}

// recipes lists the Kubernetes versions this package knows how to build, with
// the component versions kubeadm of that release asks for.
var recipes = map[string]recipe{
	"v1.37.0": {
		KubernetesVersion: "v1.37.0",
		EtcdVersion:       "v3.7.0",
		EtcdImageTag:      "3.7.0-0",
		CoreDNSVersion:    "v1.14.6",
		PauseVersion:      "3.10.2",
	},
}

// nodePackages are installed in the node's root filesystem.
var nodePackages = []string{
	"systemd", "systemd-sysv",
	"conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux", "mount", "kmod",
	"libseccomp2", "pigz", "e2fsprogs",
	"bash", "ca-certificates", "curl", "jq", "procps",
	"containerd", "runc", "containernetworking-plugins",
}

// proxyPackages are installed in kube-proxy's image root filesystem.
var proxyPackages = []string{"iptables", "nftables", "conntrack", "ipset", "kmod"}

func recipeFor(version string) (recipe, error) {
	r, ok := recipes[version]
	if !ok {
		known := make([]string, 0, len(recipes))
		for v := range recipes {
			known = append(known, v)
		}
		return recipe{}, fmt.Errorf("no node image recipe for Kubernetes %s (known: %s)", version, strings.Join(known, ", "))
	}
	r.Packages = nodePackages
	r.ProxyPackages = proxyPackages
	return r, nil
}

// hash is a short digest of every input of the image.
func (r recipe) hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "builder=%s\nkind=%s\ndebian=%s\n", builderVersion, kindVersion, debianSuite)
	fmt.Fprintf(h, "kubernetes=%s\netcd=%s/%s\ncoredns=%s\npause=%s\n",
		r.KubernetesVersion, r.EtcdVersion, r.EtcdImageTag, r.CoreDNSVersion, r.PauseVersion)
	fmt.Fprintf(h, "packages=%s\nproxy-packages=%s\n", strings.Join(r.Packages, ","), strings.Join(r.ProxyPackages, ","))
	return hex.EncodeToString(h.Sum(nil))[:12]
}
