package diag

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// hostPodClient is a fake clientset with two nodes that names generated
// objects like the API server and gives new pods the status podStatus.
func hostPodClient(podStatus corev1.PodStatus) *fake.Clientset {
	return hostPodClientPerNode(func(string) corev1.PodStatus { return podStatus })
}

// hostPodClientPerNode is hostPodClient with each new pod's status chosen
// by its node.
func hostPodClientPerNode(podStatus func(node string) corev1.PodStatus) *fake.Clientset {
	cs := fake.NewClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker-b"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker-a"}},
	)
	var n atomic.Int32
	cs.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj := action.(k8stesting.CreateAction).GetObject().(metav1.Object)
		if obj.GetName() == "" && obj.GetGenerateName() != "" {
			obj.SetName(fmt.Sprintf("%s%05d", obj.GetGenerateName(), n.Add(1)))
		}
		if pod, ok := obj.(*corev1.Pod); ok {
			pod.Status = podStatus(pod.Spec.NodeName)
		}
		return false, nil, nil
	})
	return cs
}

func TestHostPodsStart(t *testing.T) {
	cs := hostPodClient(corev1.PodStatus{Phase: corev1.PodRunning})
	h := &HostPods{Clientset: cs, Image: "svccheck.local/svccheck:abc", Timeout: 5 * time.Second,
		Lifetime: 10 * time.Minute, RunID: "r1d"}
	nodes, failures, err := h.Start(context.Background())
	if err != nil || len(failures) > 0 {
		t.Fatalf("Start: %v, failures %v", err, failures)
	}
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), h.Namespace(), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("namespace %q: %v", h.Namespace(), err)
	}
	if !strings.HasPrefix(ns.Name, "svccheck-dump-") || ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Errorf("namespace %s labels %v, want svccheck-dump-* allowing privileged pods", ns.Name, ns.Labels)
	}
	if ns.Labels[LabelManagedBy] != "svccheck" || ns.Labels[LabelRunID] != "r1d" {
		t.Errorf("namespace %s labels %v, want managed-by svccheck and run id r1d", ns.Name, ns.Labels)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
		hc, ok := n.Cmder.(*hostPodCmder)
		if !ok {
			t.Fatalf("node %s: Cmder is %T, want *hostPodCmder", n.Name, n.Cmder)
		}
		pc := hc.chrooted
		pod, err := cs.CoreV1().Pods(h.Namespace()).Get(context.Background(), pc.Pod, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("node %s: pod %s: %v", n.Name, pc.Pod, err)
		}
		if pod.Spec.NodeName != n.Name {
			t.Errorf("pod %s runs on %q, want %q", pod.Name, pod.Spec.NodeName, n.Name)
		}
		if diff := cmp.Diff([]string{HostPodBinary, "dump", "exec-host", "--", "iptables-save"}, hc.Command("iptables-save").(*podCmd).argv); diff != "" {
			t.Errorf("a node command: argv mismatch (-want +got):\n%s", diff)
		}
		// The node need not have svccheck: the pod's own binary probes
		// from the node's network.
		if diff := cmp.Diff([]string{HostPodBinary, "agent", "probe"}, hc.Command(SvccheckCommand, "agent", "probe").(*podCmd).argv); diff != "" {
			t.Errorf("the svccheck command: argv mismatch (-want +got):\n%s", diff)
		}
		if hc.direct.Pod != pc.Pod {
			t.Errorf("svccheck runs in pod %s, node commands in %s: want the same pod", hc.direct.Pod, pc.Pod)
		}
		checkHostPodSpec(t, pod)
	}
	if diff := cmp.Diff([]string{"worker-a", "worker-b"}, names); diff != "" {
		t.Errorf("nodes mismatch (-want +got):\n%s", diff)
	}
	if err := h.Delete(context.Background()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), h.Namespace(), metav1.GetOptions{}); err == nil {
		t.Errorf("namespace %s still there after Delete", h.Namespace())
	}
}

func checkHostPodSpec(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	s := pod.Spec
	if !s.HostNetwork || s.HostPID || s.HostIPC {
		t.Errorf("pod %s: hostNetwork %v hostPID %v hostIPC %v, want only the host network", pod.Name, s.HostNetwork, s.HostPID, s.HostIPC)
	}
	if s.ActiveDeadlineSeconds == nil || *s.ActiveDeadlineSeconds != 600 {
		t.Errorf("pod %s: activeDeadlineSeconds %v, want 600 (the lifetime)", pod.Name, s.ActiveDeadlineSeconds)
	}
	if pod.Labels[LabelManagedBy] != "svccheck" || pod.Labels[LabelRunID] != "r1d" {
		t.Errorf("pod %s labels %v, want managed-by svccheck and run id r1d", pod.Name, pod.Labels)
	}
	if len(s.Tolerations) != 1 || s.Tolerations[0].Operator != corev1.TolerationOpExists || s.Tolerations[0].Key != "" {
		t.Errorf("pod %s tolerations %v, want one tolerating every taint", pod.Name, s.Tolerations)
	}
	if s.SecurityContext == nil || s.SecurityContext.SeccompProfile == nil ||
		s.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod %s security context %+v, want the RuntimeDefault seccomp profile", pod.Name, s.SecurityContext)
	}
	c := s.Containers[0]
	if c.Image != "svccheck.local/svccheck:abc" {
		t.Errorf("pod %s image %q, want the svccheck image", pod.Name, c.Image)
	}
	want := &corev1.SecurityContext{
		Capabilities: &corev1.Capabilities{
			Drop: []corev1.Capability{"ALL"},
			Add:  []corev1.Capability{"NET_ADMIN", "NET_RAW", "SYS_CHROOT"},
		},
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
	}
	if diff := cmp.Diff(want, c.SecurityContext); diff != "" {
		t.Errorf("pod %s security context mismatch (-want +got):\n%s", pod.Name, diff)
	}
	if diff := cmp.Diff([]string{HostPodBinary, "dump", "hold", "--for", "10m0s"}, c.Command); diff != "" {
		t.Errorf("pod command mismatch (-want +got):\n%s", diff)
	}
	if len(s.Volumes) != 1 || s.Volumes[0].HostPath == nil || s.Volumes[0].HostPath.Path != "/" {
		t.Errorf("pod %s: volumes %v, want only the node's /", pod.Name, s.Volumes)
	}
	wantMounts := []corev1.VolumeMount{{Name: "host", MountPath: HostRoot, ReadOnly: true,
		RecursiveReadOnly: ptr.To(corev1.RecursiveReadOnlyIfPossible)}}
	if diff := cmp.Diff(wantMounts, c.VolumeMounts); diff != "" {
		t.Errorf("pod %s mounts mismatch (-want +got):\n%s", pod.Name, diff)
	}
}

// TestHostPodsOneNodeFails: a node whose pod cannot run is reported, and
// the other node is returned for dumping.
func TestHostPodsOneNodeFails(t *testing.T) {
	cs := hostPodClientPerNode(func(node string) corev1.PodStatus {
		if node == "worker-b" {
			return corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
				Name:  "dump",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: "no space left"}},
			}}}
		}
		return corev1.PodStatus{Phase: corev1.PodRunning}
	})
	h := &HostPods{Clientset: cs, Image: "i", Timeout: time.Minute, RunID: "x"}
	start := time.Now()
	nodes, failures, err := h.Start(context.Background())
	if err != nil {
		t.Fatalf("Start with one bad node: %v", err)
	}
	if len(nodes) != 1 || nodes[0].Name != "worker-a" {
		t.Errorf("nodes %v, want worker-a alone", nodes)
	}
	if len(failures) != 1 || failures[0].Node != "worker-b" || !strings.Contains(failures[0].Err.Error(), "no space left") {
		t.Errorf("failures %v, want worker-b with its reason", failures)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Start took %s: it waited on the failed node", d)
	}
}

// TestHostPodsOneNodeCreateFails: a pod the API refuses costs only its node.
func TestHostPodsOneNodeCreateFails(t *testing.T) {
	cs := hostPodClient(corev1.PodStatus{Phase: corev1.PodRunning})
	cs.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.(k8stesting.CreateAction).GetObject().(*corev1.Pod).Spec.NodeName == "worker-a" {
			return true, nil, fmt.Errorf("admission webhook denied it")
		}
		return false, nil, nil
	})
	h := &HostPods{Clientset: cs, Image: "i", Timeout: time.Minute, RunID: "x"}
	nodes, failures, err := h.Start(context.Background())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if len(nodes) != 1 || nodes[0].Name != "worker-b" {
		t.Errorf("nodes %v, want worker-b alone", nodes)
	}
	if len(failures) != 1 || failures[0].Node != "worker-a" || !strings.Contains(failures[0].Err.Error(), "webhook denied") {
		t.Errorf("failures %v, want worker-a with the API's refusal", failures)
	}
}

// TestHostPodsLeftBehind: what a forced quit says about the host pods.
func TestHostPodsLeftBehind(t *testing.T) {
	h := &HostPods{RunID: "r1d"}
	if got := h.LeftBehind(); got != "" {
		t.Errorf("LeftBehind before Start = %q, want nothing", got)
	}
	if got, want := h.DeleteCommand("/k"), "kubectl --kubeconfig /k delete namespace -l svccheck.io/run-id=r1d"; got != want {
		t.Errorf("DeleteCommand before Start = %q, want %q", got, want)
	}
	h = &HostPods{Clientset: hostPodClient(corev1.PodStatus{Phase: corev1.PodRunning}), Image: "i", RunID: "r1d", Lifetime: time.Hour}
	if _, _, err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := h.LeftBehind()
	for _, want := range []string{"namespace " + h.Namespace(), "(node worker-a)", "(node worker-b)", "svccheck.io/run-id=r1d", "stop by themselves by"} {
		if !strings.Contains(got, want) {
			t.Errorf("LeftBehind = %q, want it to say %q", got, want)
		}
	}
	if got, want := h.DeleteCommand(""), "kubectl delete namespace "+h.Namespace(); got != want {
		t.Errorf("DeleteCommand = %q, want %q", got, want)
	}
}

func TestHostPodsImagePullFailsFast(t *testing.T) {
	cs := hostPodClient(corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name:  "dump",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}},
	}}})
	h := &HostPods{Clientset: cs, Image: "nowhere/svccheck:x", Timeout: time.Minute}
	start := time.Now()
	_, _, err := h.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot pull image nowhere/svccheck:x") || !strings.Contains(err.Error(), "--image") {
		t.Fatalf("Start with an unpullable image = %v, want a pull error pointing at --image", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Start took %s to notice the pull failure", d)
	}
	if err := h.Delete(context.Background()); err != nil {
		t.Errorf("Delete after a failed Start: %v", err)
	}
}

func TestHostPodsTimeout(t *testing.T) {
	cs := hostPodClient(corev1.PodStatus{Phase: corev1.PodPending})
	h := &HostPods{Clientset: cs, Image: "i", Timeout: 1500 * time.Millisecond}
	_, failures, err := h.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no host pod runs") || !strings.Contains(err.Error(), "is Pending") {
		t.Fatalf("Start with pods stuck pending = %v, want a timeout naming the pending pod", err)
	}
	if len(failures) != 2 {
		t.Errorf("failures %v, want both nodes", failures)
	}
}

func TestHostPodsDeleteBeforeStart(t *testing.T) {
	if err := (&HostPods{}).Delete(context.Background()); err != nil {
		t.Errorf("Delete before Start: %v", err)
	}
}
