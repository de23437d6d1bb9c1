package diag

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kindversion "sigs.k8s.io/kind/pkg/cmd/kind/version"
	"sigs.k8s.io/yaml"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
)

// Files of a cluster dump under cluster/<namespace>/. Part of svccheck's
// stable output layout.
const (
	FileServices       = "services.yaml"
	FileEndpointSlices = "endpointslices.yaml"
	FilePods           = "pods.yaml"
	// FileNodes, directly under cluster/, holds the cluster's Nodes.
	FileNodes = "nodes.yaml"
)

// Versions is the content of cluster/versions.yaml.
type Versions struct {
	// KindVersion is the version of kind's library svccheck is built with.
	KindVersion string `json:"kindVersion"`
	// ServerVersion is the API server's git version.
	ServerVersion string `json:"serverVersion"`
	// ProxyMode is the cluster's Service proxy.
	ProxyMode string `json:"proxyMode"`
	// ProxyDetection says how ProxyMode was found (Collector.Proxy.Source).
	ProxyDetection string `json:"proxyDetection,omitempty"`
	// ProxyBroken lists what the run broke of svccheck's proxy on purpose
	// (Collector.Proxy.Broken); absent for an intact proxy.
	ProxyBroken []string `json:"proxyBroken,omitempty"`
	// RunID is the id of the run whose objects carry LabelRunID.
	RunID string `json:"runID,omitempty"`
	// NodeImage is the kind node image.
	NodeImage string `json:"nodeImage"`
	// ProxyImage is the image of the Service proxy: the container image of
	// the svccheck-proxy or kube-proxy DaemonSet in kube-system, else
	// Collector.ProxyImage.
	ProxyImage string `json:"proxyImage"`
	// Nodes lists each node's kubelet, kernel, OS and runtime versions.
	Nodes []NodeVersions `json:"nodes"`
	// Errors lists what could not be read.
	Errors []string `json:"errors,omitempty"`
}

// NodeVersions is one node's versions, from its status.
type NodeVersions struct {
	Name             string `json:"name"`
	KubeletVersion   string `json:"kubeletVersion"`
	KernelVersion    string `json:"kernelVersion"`
	OSImage          string `json:"osImage"`
	ContainerRuntime string `json:"containerRuntime"`
}

// CollectCluster writes cluster/versions.yaml and, for every namespace in
// namespaces, the Services, EndpointSlices and Pods as YAML lists under
// cluster/<namespace>/ of outDir. A read that fails is recorded in the
// file it was meant for and returned, joined with the others.
func (c *Collector) CollectCluster(ctx context.Context, namespaces []string, outDir string) error {
	if c.Clientset == nil {
		return fmt.Errorf("dumping cluster objects: no Kubernetes client")
	}
	var errs []error
	if err := c.writeVersions(ctx, outDir); err != nil {
		errs = append(errs, err)
	}
	if err := c.writeNodes(ctx, outDir); err != nil {
		errs = append(errs, err)
	}
	for _, ns := range namespaces {
		if err := c.collectNamespace(ctx, ns, outDir); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

// CollectNamespace writes the Services, EndpointSlices and Pods of
// namespace as YAML lists under cluster/<namespace>/ of outDir, as
// CollectCluster does, without rewriting versions.yaml: for dumping each
// spec's namespace before it is deleted.
func (c *Collector) CollectNamespace(ctx context.Context, namespace, outDir string) error {
	if c.Clientset == nil {
		return fmt.Errorf("dumping namespace %s: no Kubernetes client", namespace)
	}
	return c.collectNamespace(ctx, namespace, outDir)
}

// ClusterVersions reads what versions.yaml records.
func (c *Collector) ClusterVersions(ctx context.Context) Versions {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	v := Versions{KindVersion: kindversion.Version(), ProxyMode: string(c.proxyMode(ctx)), ProxyDetection: c.Proxy.Source,
		ProxyBroken: c.Proxy.Broken,
		RunID:       c.RunID, NodeImage: c.NodeImage}
	if img, err := proxyImage(ctx, c.Clientset, proxy.Mode(v.ProxyMode)); err == nil {
		v.ProxyImage = img
	} else {
		v.ProxyImage = c.ProxyImage
		if v.ProxyImage == "" {
			v.Errors = append(v.Errors, err.Error())
		}
	}
	if sv, err := c.Clientset.Discovery().ServerVersion(); err != nil {
		v.Errors = append(v.Errors, fmt.Sprintf("reading the server version: %v", err))
	} else {
		v.ServerVersion = sv.GitVersion
	}
	nodes, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		v.Errors = append(v.Errors, fmt.Sprintf("listing nodes: %v", err))
		return v
	}
	for _, n := range nodes.Items {
		info := n.Status.NodeInfo
		v.Nodes = append(v.Nodes, NodeVersions{
			Name: n.Name, KubeletVersion: info.KubeletVersion, KernelVersion: info.KernelVersion,
			OSImage: info.OSImage, ContainerRuntime: info.ContainerRuntimeVersion,
		})
	}
	sort.Slice(v.Nodes, func(i, j int) bool { return v.Nodes[i].Name < v.Nodes[j].Name })
	return v
}

func (c *Collector) writeVersions(ctx context.Context, outDir string) error {
	v := c.ClusterVersions(ctx)
	data, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding versions: %w", err)
	}
	dir := filepath.Join(outDir, reports.DirCluster)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing versions: %w", err)
	}
	if err := reports.WriteBytesAtomic(filepath.Join(dir, reports.FileVersions), data, 0o644); err != nil {
		return fmt.Errorf("writing versions: %w", err)
	}
	return nil
}

func (c *Collector) collectNamespace(ctx context.Context, ns, outDir string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	dir := filepath.Join(outDir, filepath.FromSlash(reports.ClusterDir(ns)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dumping namespace %s: %w", ns, err)
	}
	reads := []struct {
		file string
		read func() (runtime.Object, error)
	}{
		{FileServices, func() (runtime.Object, error) {
			l, err := c.Clientset.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			return forDump(l, &l.Items, corev1.SchemeGroupVersion.WithKind("Service")), nil
		}},
		{FileEndpointSlices, func() (runtime.Object, error) {
			l, err := c.Clientset.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			return forDump(l, &l.Items, discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice")), nil
		}},
		{FilePods, func() (runtime.Object, error) {
			l, err := c.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			return forDump(l, &l.Items, corev1.SchemeGroupVersion.WithKind("Pod")), nil
		}},
	}
	var errs []error
	for _, r := range reads {
		obj, err := r.read()
		var data []byte
		if err == nil {
			data, err = yaml.Marshal(obj)
		}
		if err != nil {
			err = fmt.Errorf("dumping %s of namespace %s: %w", r.file, ns, err)
			errs = append(errs, err)
			data = []byte(trailerPrefix + "FAILED: " + oneLine(err.Error()) + "\n")
		}
		if werr := reports.WriteBytesAtomic(filepath.Join(dir, r.file), data, 0o644); werr != nil {
			errs = append(errs, fmt.Errorf("dumping namespace %s: %w", ns, werr))
		}
	}
	return joinErrors(errs)
}

// forDump gives a typed list and its items their kinds, which the typed
// clients leave out, and drops managedFields, so the dumps read like
// kubectl get -o yaml. An empty list keeps "items: []".
func forDump[T any, P interface {
	*T
	metav1.Object
	runtime.Object
}](list runtime.Object, items *[]T, gvk schema.GroupVersionKind) runtime.Object {
	list.GetObjectKind().SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if *items == nil {
		*items = []T{}
	}
	for i := range *items {
		item := P(&(*items)[i])
		item.GetObjectKind().SetGroupVersionKind(gvk)
		item.SetManagedFields(nil)
	}
	return list
}

// writeNodes writes cluster/nodes.yaml: the Nodes, their pod CIDRs and
// addresses.
func (c *Collector) writeNodes(ctx context.Context, outDir string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	l, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	var data []byte
	if err == nil {
		data, err = yaml.Marshal(forDump(l, &l.Items, corev1.SchemeGroupVersion.WithKind("Node")))
	}
	if err != nil {
		err = fmt.Errorf("dumping nodes: %w", err)
		data = []byte(trailerPrefix + "FAILED: " + oneLine(err.Error()) + "\n")
	}
	dir := filepath.Join(outDir, reports.DirCluster)
	if merr := os.MkdirAll(dir, 0o755); merr != nil {
		return fmt.Errorf("dumping nodes: %w", merr)
	}
	if werr := reports.WriteBytesAtomic(filepath.Join(dir, FileNodes), data, 0o644); werr != nil {
		return fmt.Errorf("dumping nodes: %w", werr)
	}
	return err
}
