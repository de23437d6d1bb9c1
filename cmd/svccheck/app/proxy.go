package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxyimpl"
	"github.com/svccheck/svccheck/proxyimpl/conntrack"
	"github.com/svccheck/svccheck/proxyimpl/healthcheck"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/metrics"
)

// proxyOptions are the flags of `svccheck proxy`.
type proxyOptions struct {
	kubeconfig    string
	master        string
	hostname      string
	clusterCIDRs  []string
	nodeIPs       []string
	minSyncPeriod time.Duration
	syncPeriod    time.Duration
	masqBit       int
	metricsAddr   string
	healthzAddr   string
	iptablesRoot  string
	backend       string
	apiTimeout    time.Duration
	verbosity     int

	// parsed by validate
	cidrs []netip.Prefix
	ips   []netip.Addr
}

func newProxyCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &proxyOptions{}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run svccheck's iptables Service proxy on this node",
		Long: `proxy watches Services, EndpointSlices and this node's Node object and
programs the node's nat and filter tables like kube-proxy's iptables mode, in
chains named SVCCHK-*. It can run beside kube-proxy. Full syncs (the first,
after a failure, and every --sync-period) read the tables once and rewrite the
chains whose rules differ, in one iptables-restore (one transaction on
iptables-legacy, several on iptables-nft, each leaving a consistent state);
later syncs rewrite only the changed Services' rules. On SIGTERM or Ctrl-C it
stops and leaves its rules in place; 'svccheck proxy cleanup' removes them.`,
		Example: `  svccheck proxy --kubeconfig ~/.kube/config --cluster-cidr 10.244.0.0/16
  svccheck proxy --hostname-override "$NODE_NAME" --iptables-root /host -v 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			setVerbosity(o.verbosity, stderr)
			return runProxy(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: the in-cluster configuration)")
	fl.StringVar(&o.master, "master", "", "API server address, overriding the kubeconfig's")
	fl.StringVar(&o.hostname, "hostname-override", "", "this node's name (default: the host name, lowercased)")
	fl.StringSliceVar(&o.clusterCIDRs, "cluster-cidr", nil, "pod network CIDR(s); traffic to cluster IPs from outside them is masqueraded")
	fl.StringSliceVar(&o.nodeIPs, "node-ip", nil, "this node's IP address (repeatable; default: the Node's InternalIP addresses)")
	fl.DurationVar(&o.minSyncPeriod, "min-sync-period", proxyimpl.DefaultMinSyncPeriod, "least time between two syncs; changes within it are applied together")
	fl.DurationVar(&o.syncPeriod, "sync-period", proxyimpl.DefaultSyncPeriod, "longest time between two syncs; a full rewrite of the rules at least this often")
	fl.IntVar(&o.masqBit, "masquerade-bit", proxyimpl.DefaultMasqueradeBit, "fwmark bit (0-31) marking packets to masquerade")
	fl.StringVar(&o.metricsAddr, "metrics-bind-address", "127.0.0.1:10269", "address of the Prometheus /metrics endpoint (empty: none)")
	fl.StringVar(&o.healthzAddr, "healthz-bind-address", "0.0.0.0:10266", "address of the /healthz endpoint (empty: none)")
	fl.StringVar(&o.iptablesRoot, "iptables-root", "", "run iptables chrooted into this directory (a node's root mounted in a container, e.g. /host)")
	fl.StringVar(&o.backend, "iptables-backend", "auto", "iptables backend: auto, legacy or nft")
	fl.DurationVar(&o.apiTimeout, "api-timeout", 30*time.Second, "how long to wait for the API server at startup")
	fl.IntVarP(&o.verbosity, "v", "v", 0, "log verbosity (2: one line per sync, 4: per object)")
	cmd.AddCommand(newProxyCleanupCommand(stdout, stderr))
	return cmd
}

// validate checks and parses the flags; errors are usage errors.
func (o *proxyOptions) validate() error {
	if o.masqBit < 0 || o.masqBit > 31 {
		return usageError("--masquerade-bit %d: must be between 0 and 31", o.masqBit)
	}
	if o.minSyncPeriod <= 0 {
		return usageError("--min-sync-period %v: must be positive", o.minSyncPeriod)
	}
	if o.syncPeriod < o.minSyncPeriod {
		return usageError("--sync-period %v: must not be shorter than --min-sync-period %v", o.syncPeriod, o.minSyncPeriod)
	}
	if o.apiTimeout <= 0 {
		return usageError("--api-timeout %v: must be positive", o.apiTimeout)
	}
	if err := validBackend(o.backend); err != nil {
		return err
	}
	for _, s := range o.clusterCIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return usageError("--cluster-cidr %q: not a CIDR", s)
		}
		o.cidrs = append(o.cidrs, p)
	}
	for _, s := range o.nodeIPs {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return usageError("--node-ip %q: not an IP address", s)
		}
		o.ips = append(o.ips, a)
	}
	for flag, addr := range map[string]string{"--metrics-bind-address": o.metricsAddr, "--healthz-bind-address": o.healthzAddr} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return usageError("%s %q: want host:port", flag, addr)
		}
	}
	if o.hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return usageError("cannot read the host name (%v): set --hostname-override", err)
		}
		o.hostname = h
	}
	o.hostname = strings.ToLower(strings.TrimSpace(o.hostname))
	if o.hostname == "" {
		return usageError("--hostname-override is empty")
	}
	return nil
}

func validBackend(b string) error {
	switch b {
	case "auto", string(iptables.BackendLegacy), string(iptables.BackendNFT):
		return nil
	}
	return usageError("--iptables-backend %q: want auto, legacy or nft", b)
}

// setVerbosity sets klog's verbosity and sends its output to stderr.
func setVerbosity(v int, stderr io.Writer) {
	var lvl klog.Level
	_ = lvl.Set(strconv.Itoa(v))
	klog.LogToStderr(false)
	klog.SetOutput(stderr)
}

// iptablesCmder runs commands on the host, or chrooted into root.
func iptablesCmder(root string) exec.Cmder {
	if root == "" {
		return iptables.LocalCmder()
	}
	return iptables.ChrootCmder(root)
}

// newIPTables returns the iptables runner for backend (auto: detected).
func newIPTables(ctx context.Context, cmder exec.Cmder, backend string) (*iptables.Runner, error) {
	b := iptables.Backend(backend)
	if backend == "auto" {
		var err error
		if b, err = iptables.DetectBackend(ctx, cmder); err != nil {
			return nil, usageError("%v", err)
		}
	}
	return iptables.New(cmder, b), nil
}

func runProxy(ctx context.Context, o *proxyOptions) error {
	log := klog.FromContext(ctx)
	restCfg, err := restConfig(o.kubeconfig, o.master)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return usageError("building the Kubernetes client: %v", err)
	}
	if err := waitForAPIServer(ctx, client, restCfg.Host, o.apiTimeout); err != nil {
		return err
	}
	cmder := iptablesCmder(o.iptablesRoot)
	ipt, err := newIPTables(ctx, cmder, o.backend)
	if err != nil {
		return err
	}
	log.Info("Starting svccheck proxy", "node", o.hostname, "iptablesBackend", ipt.Backend(), "iptablesRoot", o.iptablesRoot)

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	m := metrics.New()
	health := healthcheck.NewProxyHealth(max(time.Minute, 2*o.minSyncPeriod), nil)
	services := healthcheck.NewServiceServer(nil)
	defer services.Close()
	p, err := proxyimpl.New(client, ipt, conntrack.New(), proxyimpl.Config{
		NodeName:      o.hostname,
		NodeIPs:       o.ips,
		ClusterCIDRs:  o.cidrs,
		MasqueradeBit: &o.masqBit,
		MinSyncPeriod: o.minSyncPeriod,
		SyncPeriod:    o.syncPeriod,
		Metrics:       m,
		Health:        health,
		ServiceHealth: services,
		Recorder:      broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "svccheck-proxy", Host: o.hostname}),
	})
	if err != nil {
		return usageError("%v", err)
	}
	stopServers, err := serveProxyEndpoints(ctx, o, health, m)
	if err != nil {
		return err
	}
	defer stopServers()
	if err := p.Run(ctx); err != nil {
		return usageError("%v", err)
	}
	log.Info("Stopping svccheck proxy; its rules stay in place")
	return nil
}

// restConfig loads the client configuration: the kubeconfig and master
// given, else the in-cluster configuration.
func restConfig(kubeconfig, master string) (*rest.Config, error) {
	if kubeconfig == "" && master == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, usageError("not running in a cluster (%v): pass --kubeconfig or --master", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags(master, kubeconfig)
	if err != nil {
		return nil, usageError("loading the client configuration: %v", err)
	}
	return cfg, nil
}

// waitForAPIServer asks the API server for its version until it answers
// or timeout passes.
func waitForAPIServer(ctx context.Context, client kubernetes.Interface, host string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		_, err := client.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return usageError("cannot reach the API server at %s within %v: %v; check --kubeconfig/--master, that the server is up and reachable from this node, and its certificate", host, timeout, last)
		case <-time.After(time.Second):
		}
	}
}

// serveProxyEndpoints starts /healthz and /metrics; the returned function
// stops them.
func serveProxyEndpoints(ctx context.Context, o *proxyOptions, health http.Handler, m *metrics.Metrics) (func(), error) {
	var servers []*http.Server
	stop := func() {
		for _, s := range servers {
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.Shutdown(sctx)
			cancel()
		}
	}
	for _, e := range []struct {
		flag, addr, path string
		handler          http.Handler
	}{
		{"--healthz-bind-address", o.healthzAddr, "/healthz", health},
		{"--metrics-bind-address", o.metricsAddr, "/metrics", m.Handler()},
	} {
		if e.addr == "" {
			continue
		}
		l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", e.addr)
		if err != nil {
			stop()
			return nil, usageError("%s %s: %v", e.flag, e.addr, err)
		}
		mux := http.NewServeMux()
		mux.Handle(e.path, e.handler)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				klog.FromContext(ctx).Error(err, "Serving", "address", e.addr)
			}
		}()
	}
	return stop, nil
}

func newProxyCleanupCommand(stdout, stderr io.Writer) *cobra.Command {
	var root, backend string
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove every chain and rule the svccheck proxy created",
		Long: `cleanup deletes the SVCCHK-* chains of the nat and filter tables and the
jumps to them from the built-in chains, in one restore per backend, and
nothing else. With --iptables-backend auto it cleans every installed backend.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validBackend(backend); err != nil {
				return err
			}
			return runProxyCleanup(cmd.Context(), iptablesCmder(root), root, backend, stdout)
		},
	}
	cmd.Flags().StringVar(&root, "iptables-root", "", "run iptables chrooted into this directory")
	cmd.Flags().StringVar(&backend, "iptables-backend", "auto", "iptables backend: auto (every installed one), legacy or nft")
	return cmd
}

func runProxyCleanup(ctx context.Context, cmder exec.Cmder, root, backend string, stdout io.Writer) error {
	backends := []iptables.Backend{iptables.Backend(backend)}
	if backend == "auto" {
		backends = nil
		for _, b := range []iptables.Backend{iptables.BackendLegacy, iptables.BackendNFT} {
			if toolInstalled(root, "iptables-"+string(b)+"-restore") {
				backends = append(backends, b)
			}
		}
		if len(backends) == 0 {
			return usageError("no iptables-legacy-restore or iptables-nft-restore found: install iptables")
		}
	}
	for _, b := range backends {
		res, err := proxyimpl.Cleanup(ctx, iptables.New(cmder, b))
		if err != nil {
			return fmt.Errorf("cleaning up the %s backend: %w", b, err)
		}
		fmt.Fprintf(stdout, "%s: removed %d chains and %d jump rules\n", b, res.Chains, res.Hooks)
	}
	return nil
}

// toolInstalled reports whether name is an executable on the standard
// PATH, inside root when root is set.
func toolInstalled(root, name string) bool {
	if root == "" {
		_, err := osexec.LookPath(name)
		return err == nil
	}
	for _, dir := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		if _, err := os.Lstat(filepath.Join(root, dir, name)); err == nil {
			return true
		}
	}
	return false
}
