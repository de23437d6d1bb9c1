package diag

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
)

func TestCollectNodesParallelismAndProgress(t *testing.T) {
	answers := nodeAnswers()
	answers["ip addr"] = answer{stdout: "slow\n", delay: 50 * time.Millisecond}
	cmder := newFakeCmder(answers) // shared, to observe concurrency across nodes
	var nodes []Node
	for i := range 6 {
		nodes = append(nodes, Node{Name: fmt.Sprintf("node-%d", i), Cmder: cmder})
	}
	var mu sync.Mutex
	var progressed []string
	c := &Collector{Parallelism: 2, Progress: func(r NodeResult) {
		mu.Lock()
		defer mu.Unlock()
		progressed = append(progressed, r.Node)
		if r.Duration <= 0 {
			t.Errorf("progress for %s without a duration", r.Node)
		}
	}}
	out := t.TempDir()
	results, err := c.CollectNodes(context.Background(), nodes, out)
	if err != nil {
		t.Fatalf("CollectNodes: %v", err)
	}
	if got := cmder.maxRunning.Load(); got != 2 {
		t.Errorf("at most %d commands ran at once, want exactly 2 (parallelism 2, slow commands)", got)
	}
	if len(progressed) != len(nodes) {
		t.Errorf("progress called %d times, want %d", len(progressed), len(nodes))
	}
	for i, r := range results {
		if r.Node != nodes[i].Name {
			t.Errorf("result %d is for %s, want %s", i, r.Node, nodes[i].Name)
		}
		if _, err := os.Stat(filepath.Join(out, "nodes", nodes[i].Name, FileIPAddr)); err != nil {
			t.Errorf("node %s: %v", nodes[i].Name, err)
		}
	}
}

func TestCollectNodesCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	nodes := []Node{{Name: "a", Cmder: newFakeCmder(nodeAnswers())}, {Name: "b", Cmder: newFakeCmder(nodeAnswers())}}
	results, err := (&Collector{Parallelism: 1}).CollectNodes(ctx, nodes, t.TempDir())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CollectNodes with a cancelled context: err = %v, want context.Canceled", err)
	}
	for _, r := range results {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("node %s: Err = %v, want context.Canceled", r.Node, r.Err)
		}
	}
}

func TestCollectFailureAndFind(t *testing.T) {
	out := t.TempDir()
	nodes := []Node{{Name: "kind-worker", Cmder: newFakeCmder(nodeAnswers())}, {Name: "kind-worker2", Cmder: newFakeCmder(nodeAnswers())}}
	slug := reports.Slug("Affinity sticks to one backend")
	dirs, err := (&Collector{}).CollectFailure(context.Background(), nodes, slug, out)
	if err != nil {
		t.Fatalf("CollectFailure: %v", err)
	}
	want := []string{
		"nodes/kind-worker/failures/affinity-sticks-to-one-backend",
		"nodes/kind-worker2/failures/affinity-sticks-to-one-backend",
	}
	if diff := cmp.Diff(want, dirs); diff != "" {
		t.Errorf("CollectFailure dirs mismatch (-want +got):\n%s", diff)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(d), FileIPTablesNAT)); err != nil {
			t.Errorf("failure dump: %v", err)
		}
	}
	// An end-of-run dump beside the failure dumps must not confuse the scan.
	if _, err := (&Collector{}).CollectNode(context.Background(), nodes[0], out); err != nil {
		t.Fatalf("CollectNode: %v", err)
	}
	found, err := FindFailureDumps(out)
	if err != nil {
		t.Fatalf("FindFailureDumps: %v", err)
	}
	if diff := cmp.Diff(map[string][]string{slug: want}, found); diff != "" {
		t.Errorf("FindFailureDumps mismatch (-want +got):\n%s", diff)
	}
	// A second spec with the same text gets its own directories.
	again, err := (&Collector{}).CollectFailure(context.Background(), nodes, slug, out)
	if err != nil {
		t.Fatalf("CollectFailure: %v", err)
	}
	wantAgain := []string{
		"nodes/kind-worker/failures/affinity-sticks-to-one-backend-2",
		"nodes/kind-worker2/failures/affinity-sticks-to-one-backend-2",
	}
	if diff := cmp.Diff(wantAgain, again); diff != "" {
		t.Errorf("CollectFailure of a repeated slug (-want +got):\n%s", diff)
	}
	if found, err := FindFailureDumps(filepath.Join(out, "missing")); err != nil || len(found) != 0 {
		t.Errorf("FindFailureDumps of a missing dir = %v, %v; want empty, nil", found, err)
	}
}

func TestCollectCluster(t *testing.T) {
	ns := "svcchk-a"
	objs := append(proxyObjects("kind-worker", 0),
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}},
			Spec:       corev1.ServiceSpec{ClusterIP: "10.96.10.10", Ports: []corev1.ServicePort{{Port: 80}}},
		},
		&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "web-abc", Namespace: ns},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.5"}}},
		},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other"}},
		&corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "kind-worker"},
			Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{
				KubeletVersion: "v1.34.0", KernelVersion: "6.1.0", OSImage: "Debian GNU/Linux 12", ContainerRuntimeVersion: "containerd://2.1",
			}},
		},
	)
	cs := fake.NewClientset(objs...)
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.34.0"}
	out := t.TempDir()
	c := &Collector{Clientset: cs, NodeImage: "svccheck.local/node:v1.34.0"}
	if err := c.CollectCluster(context.Background(), []string{ns, "empty"}, out); err != nil {
		t.Fatalf("CollectCluster: %v", err)
	}

	var v Versions
	if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(out, "cluster", "versions.yaml"))), &v); err != nil {
		t.Fatalf("parsing versions.yaml: %v", err)
	}
	if v.KindVersion == "" {
		t.Errorf("versions.yaml has no kind version")
	}
	v.KindVersion = ""
	wantV := Versions{
		ServerVersion: "v1.34.0", ProxyMode: string(proxy.Svccheck), NodeImage: "svccheck.local/node:v1.34.0", ProxyImage: testProxyImage,
		Nodes: []NodeVersions{{Name: "kind-worker", KubeletVersion: "v1.34.0", KernelVersion: "6.1.0",
			OSImage: "Debian GNU/Linux 12", ContainerRuntime: "containerd://2.1"}},
	}
	if diff := cmp.Diff(wantV, v); diff != "" {
		t.Errorf("versions.yaml mismatch (-want +got):\n%s", diff)
	}

	svcs := readFile(t, filepath.Join(out, "cluster", ns, FileServices))
	var list corev1.ServiceList
	if err := yaml.Unmarshal([]byte(svcs), &list); err != nil {
		t.Fatalf("parsing services.yaml: %v", err)
	}
	if list.Kind != "ServiceList" || len(list.Items) != 1 || list.Items[0].Name != "web" || list.Items[0].Kind != "Service" {
		t.Errorf("services.yaml = %+v, want a ServiceList holding Service web only", list)
	}
	if strings.Contains(svcs, "managedFields") {
		t.Errorf("services.yaml keeps managedFields:\n%s", svcs)
	}
	slices := readFile(t, filepath.Join(out, "cluster", ns, FileEndpointSlices))
	for _, want := range []string{"kind: EndpointSliceList", "10.244.1.5", "apiVersion: discovery.k8s.io/v1"} {
		if !strings.Contains(slices, want) {
			t.Errorf("endpointslices.yaml lacks %q:\n%s", want, slices)
		}
	}
	if pods := readFile(t, filepath.Join(out, "cluster", ns, FilePods)); !strings.Contains(pods, "name: web-0") {
		t.Errorf("pods.yaml lacks pod web-0:\n%s", pods)
	}
	if empty := readFile(t, filepath.Join(out, "cluster", "empty", FileServices)); !strings.Contains(empty, "items: []") {
		t.Errorf("services.yaml of an empty namespace = %q, want an empty list", empty)
	}
}

func TestClusterVersionsProxyImage(t *testing.T) {
	kubeProxy := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: KubeProxyDaemonSet, Namespace: ProxyNamespace},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "sidecar", Image: "busybox"}, {Name: "kube-proxy", Image: "registry.k8s.io/kube-proxy:v1.34.0"}},
		}}},
	}
	tests := []struct {
		name       string
		objs       []runtime.Object
		mode       proxy.Mode
		fallback   string
		wantImage  string
		wantErrors int
	}{
		{name: "svccheck DaemonSet", objs: proxyObjects("n", 0), mode: proxy.Svccheck, fallback: "ignored", wantImage: testProxyImage},
		{name: "kube-proxy container among others", objs: []runtime.Object{kubeProxy}, mode: "kube-proxy:nftables",
			wantImage: "registry.k8s.io/kube-proxy:v1.34.0"},
		{name: "mode found from the cluster", objs: []runtime.Object{kubeProxy}, wantImage: "registry.k8s.io/kube-proxy:v1.34.0"},
		{name: "DaemonSet missing, the run's image", mode: proxy.Svccheck, fallback: "svccheck.local/svccheck:run", wantImage: "svccheck.local/svccheck:run"},
		{name: "DaemonSet missing, nothing known", mode: proxy.Svccheck, wantErrors: 1},
		{name: "other mode's DaemonSet is not the proxy", objs: []runtime.Object{kubeProxy}, mode: proxy.Svccheck, wantErrors: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(tt.objs...)
			c := &Collector{Clientset: cs, Proxy: proxy.Proxy{Mode: tt.mode}, ProxyImage: tt.fallback}
			v := c.ClusterVersions(context.Background())
			if v.ProxyImage != tt.wantImage {
				t.Errorf("ProxyImage = %q, want %q", v.ProxyImage, tt.wantImage)
			}
			var proxyErrors []string
			for _, e := range v.Errors {
				if strings.Contains(e, "proxy image") {
					proxyErrors = append(proxyErrors, e)
				}
			}
			if len(proxyErrors) != tt.wantErrors {
				t.Errorf("proxy image errors %q, want %d", proxyErrors, tt.wantErrors)
			}
		})
	}
}

func TestCollectNamespace(t *testing.T) {
	ns := "svcchk-passed"
	cs := fake.NewClientset(
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns}},
	)
	out := t.TempDir()
	if err := (&Collector{Clientset: cs}).CollectNamespace(context.Background(), ns, out); err != nil {
		t.Fatalf("CollectNamespace: %v", err)
	}
	for file, want := range map[string]string{FileServices: "name: web", FileEndpointSlices: "items: []", FilePods: "name: web-0"} {
		if got := readFile(t, filepath.Join(out, "cluster", ns, file)); !strings.Contains(got, want) {
			t.Errorf("%s lacks %q:\n%s", file, want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "cluster", "versions.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CollectNamespace wrote versions.yaml (stat: %v), want only the namespace", err)
	}
	if err := (&Collector{}).CollectNamespace(context.Background(), ns, out); err == nil {
		t.Errorf("CollectNamespace without a client succeeded, want an error")
	}
}

func TestCollectClusterWithoutClient(t *testing.T) {
	if err := (&Collector{}).CollectCluster(context.Background(), []string{"a"}, t.TempDir()); err == nil {
		t.Errorf("CollectCluster without a client succeeded, want an error")
	}
}

func TestProxyModeKubeProxy(t *testing.T) {
	cs := fake.NewClientset(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy-x", Namespace: ProxyNamespace, Labels: map[string]string{"k8s-app": "kube-proxy"}},
		Spec:       corev1.PodSpec{NodeName: "n", Containers: []corev1.Container{{Name: "kube-proxy"}}},
	})
	answers := nodeAnswers()
	answers["curl -sS --max-time 29 -w \n# svccheck: HTTP %{http_code}\n http://127.0.0.1:10249/metrics"] = answer{stdout: "kubeproxy_sync_proxy_rules_total 1\n"}
	out := t.TempDir()
	c := &Collector{Clientset: cs, Proxy: proxy.Proxy{Mode: proxy.KubeProxyNFTables}}
	if _, err := c.CollectNode(context.Background(), Node{Name: "n", Cmder: newFakeCmder(answers)}, out); err != nil {
		t.Fatalf("CollectNode: %v", err)
	}
	dir := filepath.Join(out, "nodes", "n")
	if got := readFile(t, filepath.Join(dir, FileMetrics)); !strings.Contains(got, "kubeproxy_sync_proxy_rules_total 1") {
		t.Errorf("metrics = %q, want kube-proxy's", got)
	}
	if got := readFile(t, filepath.Join(dir, FileProxyLog)); !strings.Contains(got, "pod kube-system/kube-proxy-x container kube-proxy") {
		t.Errorf("proxy log = %q, want kube-proxy's pod", got)
	}
	if got := readFile(t, filepath.Join(dir, FileHealthz)); !strings.Contains(got, "http://127.0.0.1:10256/healthz") {
		t.Errorf("healthz = %q, want a try of kube-proxy's port 10256", got)
	}
}

// TestVersionsRecordTheProxy: versions.yaml records the proxy under test as
// the run knows it (no DaemonSet read), how it was found and what of it is
// broken on purpose, apart from its mode.
func TestVersionsRecordTheProxy(t *testing.T) {
	cs := fake.NewClientset()
	c := &Collector{Clientset: cs, Proxy: proxy.Proxy{Mode: proxy.Svccheck, Source: "created by svccheck with --proxy svccheck",
		Broken: []string{"affinity", "reject"}}, ProxyImage: "svccheck.local/svccheck:run"}
	v := c.ClusterVersions(context.Background())
	if v.ProxyMode != "svccheck" || v.ProxyDetection != "created by svccheck with --proxy svccheck" {
		t.Errorf("proxyMode %q, proxyDetection %q: want svccheck, created by svccheck with --proxy svccheck", v.ProxyMode, v.ProxyDetection)
	}
	if diff := cmp.Diff([]string{"affinity", "reject"}, v.ProxyBroken); diff != "" {
		t.Errorf("proxyBroken (-want +got):\n%s", diff)
	}
	c = &Collector{Clientset: cs, Proxy: proxy.Proxy{Mode: proxy.KubeProxy}}
	if v := c.ClusterVersions(context.Background()); v.ProxyBroken != nil {
		t.Errorf("proxyBroken of an intact proxy = %q, want none", v.ProxyBroken)
	}
}
