package cluster

import (
	"fmt"
	"syscall"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/svccheck/svccheck/proxy"
)

// kubeletCgroupV1Patch lets kubelet 1.35+ run on a cgroup v1 host.
const kubeletCgroupV1Patch = `kind: KubeletConfiguration
failCgroupV1: false
`

// configParams are the inputs of kindConfig.
type configParams struct {
	workers    int
	proxy      proxy.Mode
	image      string
	disableCNI bool
	cgroupV1   bool
}

// kindConfig returns the kind cluster configuration for p: one control plane
// and p.workers workers, kube-proxy set up for p.proxy.
func kindConfig(p configParams) *v1alpha4.Cluster {
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Nodes:    []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, Image: p.image}},
		Networking: v1alpha4.Networking{
			PodSubnet:         PodSubnet,
			ServiceSubnet:     ServiceSubnet,
			KubeProxyMode:     v1alpha4.ProxyMode(p.proxy.KubeProxyMode()),
			DisableDefaultCNI: p.disableCNI,
		},
	}
	for range p.workers {
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole, Image: p.image})
	}
	if p.cgroupV1 {
		cfg.KubeadmConfigPatches = append(cfg.KubeadmConfigPatches, kubeletCgroupV1Patch)
	}
	return cfg
}

// tmpfsMagic is the statfs type of tmpfs: /sys/fs/cgroup is a tmpfs holding
// the hierarchies on a cgroup v1 host, a cgroup2 mount on a v2 host.
const tmpfsMagic = 0x01021994

// hostIsCgroupV1 reports whether the host uses cgroup v1.
func hostIsCgroupV1() (bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &st); err != nil {
		return false, fmt.Errorf("detecting the cgroup version: %w", err)
	}
	return int64(st.Type) == tmpfsMagic, nil
}
