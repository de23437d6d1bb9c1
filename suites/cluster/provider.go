package cluster

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/exec"
	"sigs.k8s.io/kind/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/suites/internal/heartbeat"
)

// KindDefaultImage is kind's default node image.
const KindDefaultImage = defaults.Image

// checkDocker returns ErrDockerUnavailable (wrapped, with what docker said)
// unless the docker command works and the engine answers.
func checkDocker(ctx context.Context, cmder exec.Cmder) error {
	out, err := exec.CombinedOutputLines(cmder.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}"))
	if err != nil {
		msg := fmt.Sprintf("%v", err)
		if len(out) > 0 {
			msg += ": " + strings.Join(out, "; ")
		}
		return fmt.Errorf("%w: 'docker info' failed (is Docker installed and running?): %s", ErrDockerUnavailable, msg)
	}
	return nil
}

// newProvider returns kind's docker provider after checking Docker works.
func newProvider(ctx context.Context) (*kindcluster.Provider, error) {
	return newProviderLogging(ctx, log.NoopLogger{})
}

func newProviderLogging(ctx context.Context, logger log.Logger) (*kindcluster.Provider, error) {
	if err := checkDocker(ctx, localCmder()); err != nil {
		return nil, err
	}
	return kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(logger)), nil
}

// exists reports whether kind knows a cluster called name.
func exists(p *kindcluster.Provider, name string) (bool, error) {
	names, err := p.List()
	if err != nil {
		return false, fmt.Errorf("listing kind clusters: %w", err)
	}
	return slices.Contains(names, name), nil
}

// localCmder runs commands on the local machine.
func localCmder() exec.Cmder { return &exec.LocalCmder{} }

// kubeProxyMode returns the proxy mode of the cluster's kube-proxy, read from
// the kube-proxy ConfigMap kubeadm writes.
func kubeProxyMode(ctx context.Context, cs kubernetes.Interface) (proxy.Mode, error) {
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading the kube-proxy ConfigMap: %w", err)
	}
	return parseKubeProxyMode(cm)
}

func parseKubeProxyMode(cm *corev1.ConfigMap) (proxy.Mode, error) {
	var conf struct {
		Mode string `json:"mode"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["config.conf"]), &conf); err != nil {
		return "", fmt.Errorf("parsing the kube-proxy configuration: %w", err)
	}
	switch conf.Mode {
	case "", "iptables":
		return proxy.KubeProxy, nil
	case "nftables":
		return proxy.KubeProxyNFTables, nil
	case "ipvs":
		return proxy.KubeProxyIPVS, nil
	}
	return "", fmt.Errorf("unknown kube-proxy mode %q", conf.Mode)
}

// progress writes one line per step with the time elapsed since start.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	// heartbeatEvery is how often heartbeat writes a line; zero means
	// defaultHeartbeat.
	heartbeatEvery time.Duration
}

// defaultHeartbeat is how often long work says it is still running.
const defaultHeartbeat = 30 * time.Second

// Stage markers start the progress line of each stage of making a cluster
// (and of a run, which adds its own), so that scripts and tests can tell
// where a run is: "stage: <name>: <what it does>".
const (
	// StageBuild starts building the air-gapped node image.
	StageBuild = "stage: node image build"
	// StageCreate starts creating the kind node containers.
	StageCreate = "stage: cluster create"
	// StageLoad starts loading the svccheck image and binary onto the nodes.
	StageLoad = "stage: image load"
)

func newProgress(w io.Writer) *progress { return &progress{w: w, start: time.Now()} }

// step writes a progress line.
func (p *progress) step(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	el := time.Since(p.start).Round(100 * time.Millisecond)
	fmt.Fprintf(p.w, "[%6s] %s\n", el, fmt.Sprintf(format, args...))
}

// heartbeat writes "<what>: still running (<time since the call>)" every
// p.heartbeatEvery until stop is called. stop returns once no more such line
// can be written.
func (p *progress) heartbeat(what string) (stop func()) {
	every := p.heartbeatEvery
	if every <= 0 {
		every = defaultHeartbeat
	}
	return heartbeat.Start(every, func(elapsed time.Duration) {
		p.step("%s: still running (%s)", what, elapsed.Round(time.Second))
	})
}

// elapsed is the time since the first step.
func (p *progress) elapsed() time.Duration { return time.Since(p.start) }

// kindLogger passes kind's warnings and errors on as progress lines.
type kindLogger struct{ p *progress }

var _ log.Logger = kindLogger{}

func (l kindLogger) Warn(message string)               { l.p.step("kind: %s", message) }
func (l kindLogger) Warnf(format string, args ...any)  { l.p.step("kind: "+format, args...) }
func (l kindLogger) Error(message string)              { l.p.step("kind: %s", message) }
func (l kindLogger) Errorf(format string, args ...any) { l.p.step("kind: "+format, args...) }
func (l kindLogger) V(level log.Level) log.InfoLogger  { return log.NoopInfoLogger{} }
