package cluster

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/svccheck/svccheck/proxy"
)

func TestParseProxyMode(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    proxy.Mode
		kpMode  string
		wantErr bool
	}{
		{"svccheck", proxy.Svccheck, "none", false},
		{"kube-proxy", proxy.KubeProxy, "iptables", false},
		{"kube-proxy:iptables", proxy.KubeProxy, "iptables", false},
		{"Kube-Proxy:NFTables", proxy.KubeProxyNFTables, "nftables", false},
		{"kube-proxy:ipvs", proxy.KubeProxyIPVS, "ipvs", false},
		{"cilium", "", "", true},
		{"", "", "", true},
	} {
		got, err := proxy.ParseMode(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("proxy.ParseMode(%q) error = %v, want error %t", tc.in, err, tc.wantErr)
			continue
		}
		if got != tc.want || (err == nil && got.KubeProxyMode() != tc.kpMode) {
			t.Errorf("proxy.ParseMode(%q) = %q (kube-proxy mode %q), want %q (%q)", tc.in, got, got.KubeProxyMode(), tc.want, tc.kpMode)
		}
	}
}

func TestKindConfig(t *testing.T) {
	got := kindConfig(configParams{workers: 2, proxy: proxy.Svccheck, image: "node:1", disableCNI: true, cgroupV1: true})
	want := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Nodes: []v1alpha4.Node{
			{Role: v1alpha4.ControlPlaneRole, Image: "node:1"},
			{Role: v1alpha4.WorkerRole, Image: "node:1"},
			{Role: v1alpha4.WorkerRole, Image: "node:1"},
		},
		Networking: v1alpha4.Networking{
			PodSubnet: "10.244.0.0/16", ServiceSubnet: "10.96.0.0/16",
			KubeProxyMode: "none", DisableDefaultCNI: true,
		},
		KubeadmConfigPatches: []string{"kind: KubeletConfiguration\nfailCgroupV1: false\n"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kindConfig (-want +got):\n%s", diff)
	}
	got = kindConfig(configParams{workers: 0, proxy: proxy.KubeProxyNFTables, image: "node:1"})
	if len(got.Nodes) != 1 || got.Networking.KubeProxyMode != "nftables" || got.Networking.DisableDefaultCNI || len(got.KubeadmConfigPatches) != 0 {
		t.Errorf("kindConfig for kube-proxy:nftables, no workers, cgroup v2 = %+v", got)
	}
}

func TestCNIConflist(t *testing.T) {
	got, err := cniConflist("10.244.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		CNIVersion string `json:"cniVersion"`
		Plugins    []struct {
			Type   string `json:"type"`
			IPMasq *bool  `json:"ipMasq"`
			IPAM   struct {
				Type   string                `json:"type"`
				Ranges [][]map[string]string `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(got), &conf); err != nil {
		t.Fatalf("conflist is not JSON: %v\n%s", err, got)
	}
	if len(conf.Plugins) != 2 || conf.Plugins[0].Type != "ptp" || conf.Plugins[1].Type != "portmap" {
		t.Fatalf("plugins = %+v, want ptp then portmap", conf.Plugins)
	}
	p := conf.Plugins[0]
	if p.IPMasq == nil || *p.IPMasq || p.IPAM.Type != "host-local" || p.IPAM.Ranges[0][0]["subnet"] != "10.244.1.0/24" {
		t.Errorf("ptp plugin = %+v, want no masquerade and host-local on 10.244.1.0/24", p)
	}
	if _, err := cniConflist("not-a-cidr"); err == nil {
		t.Error("cniConflist accepted a bad CIDR")
	}
}

func TestPodRoutes(t *testing.T) {
	nodes := []Node{
		{Name: "cp", InternalIP: "172.18.0.2", PodCIDR: "10.244.0.0/24"},
		{Name: "w1", InternalIP: "172.18.0.3", PodCIDR: "10.244.1.0/24"},
		{Name: "w2", InternalIP: "172.18.0.4", PodCIDR: "10.244.2.0/24"},
	}
	got, err := podRoutes("w1", nodes)
	if err != nil {
		t.Fatal(err)
	}
	want := []podRoute{{"10.244.0.0/24", "172.18.0.2"}, {"10.244.2.0/24", "172.18.0.4"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(podRoute{})); diff != "" {
		t.Errorf("podRoutes (-want +got):\n%s", diff)
	}
	if s := got[0].String(); s != "route replace 10.244.0.0/24 via 172.18.0.2" {
		t.Errorf("route = %q", s)
	}
	nodes[2].PodCIDR = ""
	if _, err := podRoutes("w1", nodes); err == nil {
		t.Error("podRoutes accepted a node without a pod CIDR")
	}
}

func TestProxyObjects(t *testing.T) {
	o := newProxyObjects("svccheck.local/svccheck:abc", "https://172.18.0.2:6443")
	ds := o.DaemonSet
	spec := ds.Spec.Template.Spec
	if !spec.HostNetwork || spec.PriorityClassName != "system-node-critical" || spec.ServiceAccountName != ProxyName {
		t.Errorf("pod spec: hostNetwork=%t priority=%q sa=%q", spec.HostNetwork, spec.PriorityClassName, spec.ServiceAccountName)
	}
	if diff := cmp.Diff([]corev1.Toleration{{Operator: corev1.TolerationOpExists}}, spec.Tolerations); diff != "" {
		t.Errorf("tolerations (-want +got):\n%s", diff)
	}
	c := spec.Containers[0]
	if c.Image != "svccheck.local/svccheck:abc" || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("image %q pull %q", c.Image, c.ImagePullPolicy)
	}
	for _, arg := range []string{"proxy", "--iptables-root=/host", "--cluster-cidr=10.244.0.0/16", "--hostname-override=$(NODE_NAME)", "--kubeconfig=/etc/svccheck/kubeconfig"} {
		if !contains(c.Args, arg) {
			t.Errorf("args %q lack %q", c.Args, arg)
		}
	}
	checkProxyPrivileges(t, spec)
	if c.ReadinessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Port.IntValue() != ProxyHealthzPort {
		t.Errorf("readiness probe %+v", c.ReadinessProbe.HTTPGet)
	}
	if !strings.Contains(o.ConfigMap.Data["kubeconfig"], "server: https://172.18.0.2:6443\n") ||
		!strings.Contains(o.ConfigMap.Data["kubeconfig"], "tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token") {
		t.Errorf("kubeconfig:\n%s", o.ConfigMap.Data["kubeconfig"])
	}
	var verbs []string
	for _, r := range o.ClusterRole.Rules {
		for _, res := range r.Resources {
			for _, v := range r.Verbs {
				verbs = append(verbs, res+":"+v)
			}
		}
	}
	for _, v := range verbs {
		ok := strings.HasSuffix(v, ":get") || strings.HasSuffix(v, ":list") || strings.HasSuffix(v, ":watch") || strings.HasPrefix(v, "events:")
		if !ok {
			t.Errorf("ClusterRole grants %s", v)
		}
	}
	if !contains(verbs, "endpointslices:watch") || !contains(verbs, "events:create") || !contains(verbs, "nodes:list") {
		t.Errorf("ClusterRole lacks what the proxy needs: %v", verbs)
	}
}

// checkProxyPrivileges checks what the proxy's pods may do on the node:
// three capabilities, no escalation, the default seccomp profile, the
// node's root read-only and only the xtables lock writable.
func checkProxyPrivileges(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	wantSC := &corev1.SecurityContext{
		Capabilities: &corev1.Capabilities{
			Drop: []corev1.Capability{"ALL"},
			Add:  []corev1.Capability{"NET_ADMIN", "NET_RAW", "SYS_CHROOT"},
		},
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
	}
	if diff := cmp.Diff(wantSC, spec.Containers[0].SecurityContext); diff != "" {
		t.Errorf("container security context (-want +got):\n%s", diff)
	}
	if spec.HostPID || spec.HostIPC {
		t.Errorf("hostPID %t hostIPC %t, want neither", spec.HostPID, spec.HostIPC)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil ||
		spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v, want the RuntimeDefault seccomp profile", spec.SecurityContext)
	}
	wantMounts := []corev1.VolumeMount{
		{Name: "host", MountPath: "/host", ReadOnly: true, RecursiveReadOnly: ptr.To(corev1.RecursiveReadOnlyIfPossible)},
		{Name: "xtables-lock", MountPath: "/host/run/xtables.lock"},
		{Name: "kubeconfig", MountPath: "/etc/svccheck", ReadOnly: true},
	}
	if diff := cmp.Diff(wantMounts, spec.Containers[0].VolumeMounts); diff != "" {
		t.Errorf("volume mounts (-want +got):\n%s", diff)
	}
	hostPaths := map[string]corev1.HostPathVolumeSource{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = *v.HostPath
		}
	}
	wantHostPaths := map[string]corev1.HostPathVolumeSource{
		"host":         {Path: "/", Type: ptr.To(corev1.HostPathDirectory)},
		"xtables-lock": {Path: "/run/xtables.lock", Type: ptr.To(corev1.HostPathFileOrCreate)},
	}
	if diff := cmp.Diff(wantHostPaths, hostPaths); diff != "" {
		t.Errorf("host paths (-want +got):\n%s", diff)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestReadiness(t *testing.T) {
	ds := &appsv1.DaemonSet{Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberReady: 2}}
	if ok, st := daemonSetReady(ds, 3); ok || st != "2 of 3 nodes Ready" {
		t.Errorf("daemonSetReady = %t %q, want false", ok, st)
	}
	ds.Status.NumberReady = 3
	if ok, _ := daemonSetReady(ds, 3); !ok {
		t.Error("daemonSetReady = false with every pod Ready")
	}
	if ok, _ := daemonSetReady(ds, 4); ok {
		t.Error("daemonSetReady = true with a node not covered")
	}
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)}, Status: appsv1.DeploymentStatus{ReadyReplicas: 1}}
	if ok, _ := deploymentReady(d); ok {
		t.Error("deploymentReady = true with 1 of 2 Ready")
	}
	d.Status.ReadyReplicas = 2
	if ok, _ := deploymentReady(d); !ok {
		t.Error("deploymentReady = false with 2 of 2 Ready")
	}
	ready := corev1.Node{Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	notReady := corev1.Node{Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}}}
	if ok, _, _ := nodesReady([]corev1.Node{ready, notReady}); ok {
		t.Error("nodesReady = true with a node not Ready")
	}
	if ok, _, _ := nodesReady([]corev1.Node{ready}); !ok {
		t.Error("nodesReady = false with every node Ready")
	}
}

func TestParseKubeProxyMode(t *testing.T) {
	cm := &corev1.ConfigMap{Data: map[string]string{"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nmode: nftables\n"}}
	if m, err := parseKubeProxyMode(cm); err != nil || m != proxy.KubeProxyNFTables {
		t.Errorf("parseKubeProxyMode = %q, %v", m, err)
	}
}

func TestImageArchive(t *testing.T) {
	bin := []byte("\x7fELF fake binary")
	var buf bytes.Buffer
	if err := writeImageArchive(&buf, "svccheck.local/svccheck:0123", bin); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("svccheck.local/svccheck:0123")
	img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, &tag)
	if err != nil {
		t.Fatalf("reading the archive back: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{ImageBinaryPath}, cf.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "usr/local/bin/svccheck" {
			got, _ := io.ReadAll(tr)
			found = bytes.Equal(got, bin) && h.Mode&0o111 != 0
		}
	}
	if !found {
		t.Error("layer lacks an executable usr/local/bin/svccheck with the binary's bytes")
	}
}

func TestImageName(t *testing.T) {
	dir := t.TempDir()
	a, b := dir+"/a", dir+"/b"
	os.WriteFile(a, []byte("one"), 0o755)
	os.WriteFile(b, []byte("two"), 0o755)
	na, err := ImageName(a)
	if err != nil {
		t.Fatal(err)
	}
	nb, _ := ImageName(b)
	if na == nb || !strings.HasPrefix(na, ImageRepository+":") || len(na) != len(ImageRepository)+17 {
		t.Errorf("ImageName = %q and %q, want distinct content-addressed tags", na, nb)
	}
}

func TestCheckStaticBinary(t *testing.T) {
	if err := CheckStaticBinary("/bin/sh"); err == nil {
		t.Error("CheckStaticBinary(/bin/sh) = nil, want a dynamically linked error")
	}
	notELF := t.TempDir() + "/x"
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	if err := CheckStaticBinary(notELF); err == nil {
		t.Error("CheckStaticBinary accepted a script")
	}
}
