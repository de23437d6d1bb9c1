package run

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/svccheck/svccheck/suites/cluster"
)

// kubeadmConfig is the kubeadm-config ConfigMap holding clusterConfiguration.
func kubeadmConfig(clusterConfiguration string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: kubeadmConfigMap, Namespace: kubeadmConfigNamespace},
		Data:       map[string]string{kubeadmConfigKey: clusterConfiguration},
	}
}

// kindClusterConfiguration is the ClusterConfiguration kind writes, cut
// down, with serviceSubnet subnet.
func kindClusterConfiguration(subnet string) string {
	return `apiServer:
  certSANs:
  - localhost
apiVersion: kubeadm.k8s.io/v1beta4
clusterName: svccheck
kind: ClusterConfiguration
networking:
  dnsDomain: cluster.local
  podSubnet: 10.244.0.0/16
  serviceSubnet: ` + subnet + `
`
}

func TestServiceCIDR(t *testing.T) {
	tests := []struct {
		name    string
		objs    []runtime.Object
		created bool
		want    string
		wantErr string
	}{
		{name: "created: what cluster.Create configures", created: true, want: cluster.ServiceSubnet},
		{name: "created: the constant, not a stale ConfigMap", created: true,
			objs: []runtime.Object{kubeadmConfig(kindClusterConfiguration("10.100.0.0/16"))}, want: cluster.ServiceSubnet},
		{name: "reused: kubeadm's serviceSubnet", objs: []runtime.Object{kubeadmConfig(kindClusterConfiguration("10.96.0.0/16"))}, want: "10.96.0.0/16"},
		{name: "reused: another range", objs: []runtime.Object{kubeadmConfig(kindClusterConfiguration("10.100.0.0/20"))}, want: "10.100.0.0/20"},
		{name: "reused: dual-stack, the primary range", objs: []runtime.Object{kubeadmConfig(kindClusterConfiguration("10.96.0.0/16,fd00:10:96::/112"))},
			want: "10.96.0.0/16"},
		{name: "reused: IPv6 primary", objs: []runtime.Object{kubeadmConfig(kindClusterConfiguration("fd00:10:96::/112, 10.96.0.0/16"))},
			want: "fd00:10:96::/112"},
		{name: "reused: no ConfigMap", wantErr: "kube-system/kubeadm-config"},
		{name: "reused: no ClusterConfiguration", objs: []runtime.Object{&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: kubeadmConfigMap, Namespace: kubeadmConfigNamespace}}}, wantErr: "has no ClusterConfiguration"},
		{name: "reused: no serviceSubnet", objs: []runtime.Object{kubeadmConfig("kind: ClusterConfiguration\nnetworking: {}\n")},
			wantErr: "no networking.serviceSubnet"},
		{name: "reused: not YAML", objs: []runtime.Object{kubeadmConfig("networking: [")}, wantErr: "parsing the ClusterConfiguration"},
		{name: "reused: not a prefix", objs: []runtime.Object{kubeadmConfig(kindClusterConfiguration("10.96.0.0"))}, wantErr: `"10.96.0.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := serviceCIDR(context.Background(), fake.NewClientset(tt.objs...), tt.created)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("serviceCIDR() = %s, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("serviceCIDR() error: %v", err)
			}
			if want := netip.MustParsePrefix(tt.want); got != want {
				t.Errorf("serviceCIDR() = %s, want %s", got, want)
			}
		})
	}
}
