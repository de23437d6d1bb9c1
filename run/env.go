package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
	"github.com/svccheck/svccheck/suites/specs"
)

// Where kubeadm, which kind runs, keeps the cluster's configuration.
const (
	kubeadmConfigNamespace = "kube-system"
	kubeadmConfigMap       = "kubeadm-config"
	kubeadmConfigKey       = "ClusterConfiguration"
)

// newSpecEnv returns the environment the specs run against on c: its nodes,
// the svccheck image, the proxy mode, the Service range and the collector
// that dumps each spec's diagnostics into outDir.
func newSpecEnv(ctx context.Context, c *cluster.Cluster, created bool, nodes []cluster.Node,
	collector *diag.Collector, outDir string, stderr io.Writer) *specs.Env {
	cidr, err := serviceCIDR(ctx, c.Clientset, created)
	if err != nil {
		// svccheck's clusters all use cluster.ServiceSubnet; a reused
		// cluster that does not makes the range spec say so.
		cidr = netip.MustParsePrefix(cluster.ServiceSubnet)
		fmt.Fprintf(stderr, "warning: %v; assuming the Service range %s\n", err, cidr)
	}
	return &specs.Env{
		Config: c.RESTConfig, Client: c.Clientset, Nodes: specNodes(nodes), Image: c.Image,
		Proxy: collector.Proxy, ServiceCIDR: cidr,
		Failures: &failureCollector{collector: collector, nodes: diagNodes(nodes), outDir: outDir},
	}
}

// serviceCIDR returns the Service range of the run's cluster: the one
// cluster.Create configures, for a cluster this run created, else the
// serviceSubnet of the cluster's kubeadm ClusterConfiguration, else the
// range of the API server's ServiceCIDR object "kubernetes".
func serviceCIDR(ctx context.Context, cs kubernetes.Interface, created bool) (netip.Prefix, error) {
	if created {
		p, err := netip.ParsePrefix(cluster.ServiceSubnet)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("parsing the Service range %q: %w", cluster.ServiceSubnet, err)
		}
		return p, nil
	}
	p, err := kubeadmServiceCIDR(ctx, cs)
	if err == nil {
		return p, nil
	}
	p, aerr := apiServiceCIDR(ctx, cs)
	if aerr != nil {
		return netip.Prefix{}, errors.Join(err, aerr)
	}
	return p, nil
}

// kubeadmServiceCIDR reads networking.serviceSubnet of the ClusterConfiguration
// in the kube-system/kubeadm-config ConfigMap. Of a dual-stack pair
// ("10.96.0.0/16,fd00:10:96::/112") it returns the first, primary, range:
// the family a Service gets its ClusterIP from by default.
func kubeadmServiceCIDR(ctx context.Context, cs kubernetes.Interface) (netip.Prefix, error) {
	cm, err := cs.CoreV1().ConfigMaps(kubeadmConfigNamespace).Get(ctx, kubeadmConfigMap, metav1.GetOptions{})
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("reading the Service range from %s/%s: %w", kubeadmConfigNamespace, kubeadmConfigMap, err)
	}
	raw, ok := cm.Data[kubeadmConfigKey]
	if !ok {
		return netip.Prefix{}, fmt.Errorf("reading the Service range: %s/%s has no %s", kubeadmConfigNamespace, kubeadmConfigMap, kubeadmConfigKey)
	}
	var cfg struct {
		Networking struct {
			ServiceSubnet string `json:"serviceSubnet"`
		} `json:"networking"`
	}
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		return netip.Prefix{}, fmt.Errorf("parsing the %s in %s/%s: %w", kubeadmConfigKey, kubeadmConfigNamespace, kubeadmConfigMap, err)
	}
	subnet := strings.TrimSpace(strings.Split(cfg.Networking.ServiceSubnet, ",")[0])
	if subnet == "" {
		return netip.Prefix{}, fmt.Errorf("reading the Service range: the %s in %s/%s has no networking.serviceSubnet",
			kubeadmConfigKey, kubeadmConfigNamespace, kubeadmConfigMap)
	}
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parsing the Service range %q of %s/%s: %w", subnet, kubeadmConfigNamespace, kubeadmConfigMap, err)
	}
	return p.Masked(), nil
}
