package diag

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/svccheck/svccheck/proxy"
)

// Where the proxies run: DaemonSets in kube-system. Their pods are found by
// the DaemonSet's own selector, else by these well-known labels.
const (
	ProxyNamespace           = "kube-system"
	SvccheckProxyDaemonSet   = "svccheck-proxy"
	SvccheckProxySelector    = "app=svccheck-proxy"
	SvccheckProxyAltSelector = "k8s-app=svccheck-proxy"
	KubeProxyDaemonSet       = "kube-proxy"
	KubeProxySelector        = "k8s-app=kube-proxy"
)

// maxProxyLogBytes bounds a proxy log dump.
const maxProxyLogBytes int64 = 8 << 20

// proxyMode returns the configured proxy mode or finds it from the cluster:
// the svccheck-proxy DaemonSet means svccheck, else the kube-proxy DaemonSet
// means kube-proxy. It returns "" when neither can be told.
func (c *Collector) proxyMode(ctx context.Context) proxy.Mode {
	c.modeOnce.Do(func() {
		c.mode = c.Proxy.Mode
		if c.mode != "" || c.Clientset == nil {
			return
		}
		c.mode = detectProxyMode(ctx, c.Clientset)
	})
	return c.mode
}

func detectProxyMode(ctx context.Context, cs kubernetes.Interface) proxy.Mode {
	ds := cs.AppsV1().DaemonSets(ProxyNamespace)
	if _, err := ds.Get(ctx, SvccheckProxyDaemonSet, metav1.GetOptions{}); err == nil {
		return proxy.Svccheck
	}
	if _, err := ds.Get(ctx, KubeProxyDaemonSet, metav1.GetOptions{}); err == nil {
		return proxy.KubeProxy
	}
	return ""
}

// proxyImage reads the image of the proxy's container from its DaemonSet in
// kube-system: svccheck-proxy for mode svccheck, kube-proxy for kube-proxy
// modes, whichever exists when mode is empty. The proxy's container is the
// one named after the DaemonSet (kube-proxy) or "proxy" (svccheck), else
// the first.
func proxyImage(ctx context.Context, cs kubernetes.Interface, mode proxy.Mode) (string, error) {
	if cs == nil {
		return "", fmt.Errorf("reading the proxy image: no Kubernetes client")
	}
	var errs []error
	for _, name := range proxyDaemonSets(mode) {
		ds, err := cs.AppsV1().DaemonSets(ProxyNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if img := containerImage(ds.Spec.Template.Spec.Containers, name, "proxy"); img != "" {
			return img, nil
		}
		errs = append(errs, fmt.Errorf("DaemonSet %s/%s has no container image", ProxyNamespace, name))
	}
	return "", fmt.Errorf("reading the proxy image: %w", joinErrors(errs))
}

// containerImage returns the image of the first container named one of
// names, else of the first container.
func containerImage(containers []corev1.Container, names ...string) string {
	for _, name := range names {
		for _, ct := range containers {
			if ct.Name == name {
				return ct.Image
			}
		}
	}
	if len(containers) > 0 {
		return containers[0].Image
	}
	return ""
}

// proxyLogFiles fetches the log of the proxy pod running on node (and of its
// previous container, if it restarted) through the API server.
func (c *Collector) proxyLogFiles(ctx context.Context, node string, mode proxy.Mode) []record {
	rec := record{name: FileProxyLog}
	if c.Clientset == nil {
		rec.err = fmt.Errorf("skipped: no Kubernetes client")
		return []record{rec}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	pod, err := proxyPod(ctx, c.Clientset, node, mode)
	if err != nil {
		rec.err = err
		return []record{rec}
	}
	container := pod.Spec.Containers[0].Name
	rec.header = []string{fmt.Sprintf("pod %s/%s container %s", pod.Namespace, pod.Name, container)}
	rec.stdout, rec.err = podLog(ctx, c.Clientset, pod, container, false)
	files := []record{rec}
	for _, st := range pod.Status.ContainerStatuses {
		if st.Name != container || st.RestartCount == 0 {
			continue
		}
		prev := record{name: FileProxyPreviousLog, header: []string{
			fmt.Sprintf("pod %s/%s container %s, previous instance (%d restarts)", pod.Namespace, pod.Name, container, st.RestartCount)}}
		prev.stdout, prev.err = podLog(ctx, c.Clientset, pod, container, true)
		files = append(files, prev)
	}
	return files
}

// proxyDaemonSets names the DaemonSets in ProxyNamespace that run the
// proxy of mode: svccheck-proxy for svccheck, kube-proxy for kube-proxy
// modes, both (svccheck's first) for an unknown mode.
func proxyDaemonSets(mode proxy.Mode) []string {
	switch {
	case mode == proxy.Svccheck:
		return []string{SvccheckProxyDaemonSet}
	case mode.IsKubeProxy():
		return []string{KubeProxyDaemonSet}
	}
	return []string{SvccheckProxyDaemonSet, KubeProxyDaemonSet}
}

// proxyLabelSelectors are the well-known pod labels of each proxy
// DaemonSet, for when the DaemonSet's own selector cannot be read.
var proxyLabelSelectors = map[string][]string{
	SvccheckProxyDaemonSet: {SvccheckProxySelector, SvccheckProxyAltSelector},
	KubeProxyDaemonSet:     {KubeProxySelector},
}

// proxyPod finds the proxy pod scheduled on node: a pod of the proxy's
// DaemonSet (selected by the DaemonSet's own selector), else a pod carrying
// one of the proxy's well-known labels.
func proxyPod(ctx context.Context, cs kubernetes.Interface, node string, mode proxy.Mode) (*corev1.Pod, error) {
	var selectors []string
	for _, name := range proxyDaemonSets(mode) {
		ds, err := cs.AppsV1().DaemonSets(ProxyNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil || ds.Spec.Selector == nil {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector); err == nil && !sel.Empty() {
			selectors = append(selectors, sel.String())
		}
	}
	for _, name := range proxyDaemonSets(mode) {
		selectors = append(selectors, proxyLabelSelectors[name]...)
	}
	for _, sel := range selectors {
		pods, err := cs.CoreV1().Pods(ProxyNamespace).List(ctx, metav1.ListOptions{
			LabelSelector: sel,
			FieldSelector: "spec.nodeName=" + node,
		})
		if err != nil {
			return nil, fmt.Errorf("listing proxy pods (%s) on node %s: %w", sel, node, err)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Spec.NodeName == node && len(p.Spec.Containers) > 0 {
				return p, nil
			}
		}
	}
	return nil, fmt.Errorf("no proxy pod (%s) on node %s in %s", strings.Join(selectors, " or "), node, ProxyNamespace)
}

func podLog(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, container string, previous bool) ([]byte, error) {
	limit := maxProxyLogBytes
	req := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
		Container:  container,
		Previous:   previous,
		Timestamps: true,
		LimitBytes: &limit,
	})
	stream, err := req.Stream(ctx)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading the log of pod %s/%s: not found: %w", pod.Namespace, pod.Name, err)
		}
		return nil, fmt.Errorf("reading the log of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	defer stream.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, stream); err != nil {
		return b.Bytes(), fmt.Errorf("reading the log of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return b.Bytes(), nil
}
