package cluster

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxy"
)

// Kube-proxy's objects and its metrics endpoint, where kubeadm and most
// installers put them.
const (
	KubeProxyName = "kube-proxy"
	// kubeProxyModeURL answers the proxy mode kube-proxy runs in, on the
	// node's loopback.
	kubeProxyModeURL = "http://127.0.0.1:10249/proxyMode"
)

// Detection is the Service proxy found on a cluster and what told it.
type Detection struct {
	// Proxy is the proxy: svccheck, kube-proxy[:mode], or proxy.Unknown.
	Proxy proxy.Mode
	// Source says what told it, for versions.yaml and summary.md, e.g.
	// "kube-proxy's /proxyMode metrics endpoint on node w1".
	Source string
}

// String reads "kube-proxy (iptables mode; from ...)".
func (d Detection) String() string {
	return fmt.Sprintf("%s (%s)", d.Proxy, d.Source)
}

// DetectProxy finds the Service proxy of the cluster cs reaches. node, when
// not nil, runs commands in a node's network namespace (a kind node or a
// host pod), to ask kube-proxy's metrics endpoint. In order:
//   - the DaemonSet kube-system/svccheck-proxy: svccheck's proxy;
//   - kube-proxy's own /proxyMode endpoint on the node (what runs);
//   - the DaemonSet kube-system/kube-proxy: its --proxy-mode flag, else
//     the mode of its ConfigMap kube-system/kube-proxy (empty: iptables);
//   - else proxy.Unknown, naming the DaemonSets kube-system holds.
//
// An API error other than NotFound is returned: it says nothing of the proxy.
func DetectProxy(ctx context.Context, cs kubernetes.Interface, node exec.Cmder, nodeName string) (Detection, error) {
	dss := cs.AppsV1().DaemonSets(ProxyNamespace)
	if _, err := dss.Get(ctx, ProxyName, metav1.GetOptions{}); err == nil {
		return Detection{Proxy: proxy.Svccheck, Source: "DaemonSet " + ProxyNamespace + "/" + ProxyName}, nil
	} else if !apierrors.IsNotFound(err) {
		return Detection{}, fmt.Errorf("detecting the Service proxy: %w", err)
	}
	var metricsErr error
	if node != nil {
		mode, err := metricsProxyMode(ctx, node)
		if err == nil {
			return kubeProxyDetection(mode, "kube-proxy's /proxyMode metrics endpoint on node "+nodeName)
		}
		metricsErr = err
	}
	ds, err := dss.Get(ctx, KubeProxyName, metav1.GetOptions{})
	switch {
	case err == nil:
		if mode, ok := flagProxyMode(ds); ok {
			return kubeProxyDetection(mode, "the --proxy-mode flag of DaemonSet "+ProxyNamespace+"/"+KubeProxyName)
		}
		mode, err := kubeProxyMode(ctx, cs)
		if err != nil {
			return Detection{}, fmt.Errorf("detecting kube-proxy's mode: %w", err)
		}
		return Detection{Proxy: mode, Source: "ConfigMap " + ProxyNamespace + "/" + KubeProxyName + ": mode " + mode.KubeProxyMode()}, nil
	case !apierrors.IsNotFound(err):
		return Detection{}, fmt.Errorf("detecting the Service proxy: %w", err)
	}
	return Detection{Proxy: proxy.Unknown, Source: unknownProxySource(ctx, cs, metricsErr)}, nil
}

// kubeProxyDetection maps a kube-proxy mode name to a Detection.
func kubeProxyDetection(mode, source string) (Detection, error) {
	if mode == "" {
		source += ": mode iptables (empty: kube-proxy's default)"
	} else {
		source += ": mode " + mode
	}
	switch mode {
	case "", "iptables":
		return Detection{Proxy: proxy.KubeProxy, Source: source}, nil
	case "nftables":
		return Detection{Proxy: proxy.KubeProxyNFTables, Source: source}, nil
	case "ipvs":
		return Detection{Proxy: proxy.KubeProxyIPVS, Source: source}, nil
	}
	return Detection{Proxy: proxy.Unknown, Source: source + ", which svccheck does not know"}, nil
}

// metricsProxyMode asks kube-proxy's metrics endpoint on the node's
// loopback which mode it runs in.
func metricsProxyMode(ctx context.Context, node exec.Cmder) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := node.CommandContext(ctx, "curl", "-sS", "--fail", "--max-time", "3", kubeProxyModeURL)
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("curl %s: %w: %s", kubeProxyModeURL, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// flagProxyMode returns the value of a --proxy-mode flag of the kube-proxy
// container of ds.
func flagProxyMode(ds *appsv1.DaemonSet) (string, bool) {
	for _, c := range ds.Spec.Template.Spec.Containers {
		args := slices.Concat(c.Command, c.Args)
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, "--proxy-mode="); ok {
				return v, true
			}
			if a == "--proxy-mode" && i+1 < len(args) {
				return args[i+1], true
			}
		}
	}
	return "", false
}

// unknownProxySource says why the proxy is unknown: the DaemonSets
// kube-system holds instead (a Cilium or other replacement shows there).
func unknownProxySource(ctx context.Context, cs kubernetes.Interface, metricsErr error) string {
	msg := "no DaemonSet " + ProxyName + " or " + KubeProxyName + " in " + ProxyNamespace
	if metricsErr != nil {
		msg += "; kube-proxy's metrics endpoint does not answer on a node"
	}
	list, err := cs.AppsV1().DaemonSets(ProxyNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return msg
	}
	var names []string
	for _, ds := range list.Items {
		names = append(names, ds.Name)
	}
	if len(names) == 0 {
		return msg + "; " + ProxyNamespace + " has no DaemonSets"
	}
	return msg + "; DaemonSets there: " + strings.Join(names, ", ")
}
