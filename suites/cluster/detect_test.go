package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxy"
)

func daemonSet(name string, args ...string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ProxyNamespace},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: name, Command: []string{"/usr/local/bin/" + name}, Args: args}},
		}}},
	}
}

func kubeProxyConfigMap(mode string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: KubeProxyName, Namespace: ProxyNamespace},
		Data:       map[string]string{"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: " + mode + "\n"},
	}
}

func TestDetectProxy(t *testing.T) {
	unanswered := &outputCmder{err: errors.New("exit status 7")}
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		node    exec.Cmder
		want    proxy.Mode
		source  string // a part of Detection.Source
	}{
		{"svccheck's DaemonSet", []runtime.Object{daemonSet(ProxyName), daemonSet(KubeProxyName)}, nil,
			proxy.Svccheck, "DaemonSet kube-system/svccheck-proxy"},
		{"kube-proxy's metrics endpoint wins over its configuration",
			[]runtime.Object{daemonSet(KubeProxyName), kubeProxyConfigMap("iptables")}, &outputCmder{out: "nftables"},
			proxy.KubeProxyNFTables, "/proxyMode metrics endpoint on node w2: mode nftables"},
		{"the --proxy-mode flag wins over the ConfigMap",
			[]runtime.Object{daemonSet(KubeProxyName, "--config=/var/lib/kube-proxy/config.conf", "--proxy-mode=ipvs"), kubeProxyConfigMap("iptables")}, unanswered,
			proxy.KubeProxyIPVS, "the --proxy-mode flag of DaemonSet kube-system/kube-proxy: mode ipvs"},
		{"the flag as two arguments",
			[]runtime.Object{daemonSet(KubeProxyName, "--proxy-mode", "nftables")}, nil,
			proxy.KubeProxyNFTables, "mode nftables"},
		{"the ConfigMap, empty mode",
			[]runtime.Object{daemonSet(KubeProxyName), kubeProxyConfigMap(`""`)}, unanswered,
			proxy.KubeProxy, "ConfigMap kube-system/kube-proxy: mode iptables"},
		{"kube-proxy answering without a DaemonSet (a static pod)", nil, &outputCmder{out: "iptables\n"},
			proxy.KubeProxy, "/proxyMode metrics endpoint on node w2: mode iptables"},
		{"replaced: other DaemonSets only", []runtime.Object{daemonSet("cilium"), daemonSet("coredns-node-cache")}, unanswered,
			proxy.Unknown, "DaemonSets there: cilium, coredns-node-cache"},
		{"an unknown kube-proxy mode", nil, &outputCmder{out: "kernelspace"},
			proxy.Unknown, "mode kernelspace, which svccheck does not know"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(tc.objects...)
			d, err := DetectProxy(context.Background(), cs, tc.node, "w2")
			if err != nil {
				t.Fatalf("DetectProxy: %v", err)
			}
			if d.Proxy != tc.want || !strings.Contains(d.Source, tc.source) {
				t.Errorf("DetectProxy = %s, want %s with source containing %q", d, tc.want, tc.source)
			}
		})
	}
}

func TestDetectProxyAsksTheMetricsEndpoint(t *testing.T) {
	node := &outputCmder{out: "iptables"}
	if _, err := DetectProxy(context.Background(), fake.NewClientset(daemonSet(KubeProxyName)), node, "w1"); err != nil {
		t.Fatal(err)
	}
	if len(node.calls) != 1 || !strings.HasSuffix(node.calls[0], "http://127.0.0.1:10249/proxyMode") {
		t.Errorf("commands on the node: %q, want one curl of kube-proxy's /proxyMode", node.calls)
	}
}
