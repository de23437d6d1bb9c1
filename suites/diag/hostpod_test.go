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
)

// hostPodClient is a fake clientset with two nodes that names generated
// objects like the API server and gives new pods the status podStatus.
func hostPodClient(podStatus corev1.PodStatus) *fake.Clientset {
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
			pod.Status = podStatus
		}
		return false, nil, nil
	})
	return cs
}

func TestHostPodsStart(t *testing.T) {
	cs := hostPodClient(corev1.PodStatus{Phase: corev1.PodRunning})
	h := &HostPods{Clientset: cs, Image: "svccheck.local/svccheck:abc", Timeout: 5 * time.Second}
	nodes, err := h.Start(context.Background())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), h.Namespace(), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("namespace %q: %v", h.Namespace(), err)
	}
	if !strings.HasPrefix(ns.Name, "svccheck-dump-") || ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Errorf("namespace %s labels %v, want svccheck-dump-* allowing privileged pods", ns.Name, ns.Labels)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
		pc, ok := n.Cmder.(*PodCmder)
		if !ok {
			t.Fatalf("node %s: Cmder is %T, want *PodCmder", n.Name, n.Cmder)
		}
		pod, err := cs.CoreV1().Pods(h.Namespace()).Get(context.Background(), pc.Pod, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("node %s: pod %s: %v", n.Name, pc.Pod, err)
		}
		if pod.Spec.NodeName != n.Name {
			t.Errorf("pod %s runs on %q, want %q", pod.Name, pod.Spec.NodeName, n.Name)
		}
		if diff := cmp.Diff([]string{HostPodBinary, "dump", "exec-host", "--"}, pc.Prefix); diff != "" {
			t.Errorf("exec prefix mismatch (-want +got):\n%s", diff)
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
	if !s.HostNetwork || !s.HostPID {
		t.Errorf("pod %s: hostNetwork %v hostPID %v, want both", pod.Name, s.HostNetwork, s.HostPID)
	}
	if len(s.Tolerations) != 1 || s.Tolerations[0].Operator != corev1.TolerationOpExists || s.Tolerations[0].Key != "" {
		t.Errorf("pod %s tolerations %v, want one tolerating every taint", pod.Name, s.Tolerations)
	}
	c := s.Containers[0]
	if c.Image != "svccheck.local/svccheck:abc" || c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
		t.Errorf("pod %s container %+v, want the svccheck image, privileged", pod.Name, c)
	}
	if diff := cmp.Diff([]string{HostPodBinary, "dump", "hold"}, c.Command); diff != "" {
		t.Errorf("pod command mismatch (-want +got):\n%s", diff)
	}
	if len(s.Volumes) != 1 || s.Volumes[0].HostPath == nil || s.Volumes[0].HostPath.Path != "/" ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != HostRoot {
		t.Errorf("pod %s: volumes %v mounts %v, want the node's / at %s", pod.Name, s.Volumes, c.VolumeMounts, HostRoot)
	}
}

func TestHostPodsImagePullFailsFast(t *testing.T) {
	cs := hostPodClient(corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name:  "dump",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}},
	}}})
	h := &HostPods{Clientset: cs, Image: "nowhere/svccheck:x", Timeout: time.Minute}
	start := time.Now()
	_, err := h.Start(context.Background())
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
	_, err := h.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "waiting for the host pods") || !strings.Contains(err.Error(), "is Pending") {
		t.Fatalf("Start with pods stuck pending = %v, want a timeout naming the pending pod", err)
	}
}

func TestHostPodsDeleteBeforeStart(t *testing.T) {
	if err := (&HostPods{}).Delete(context.Background()); err != nil {
		t.Errorf("Delete before Start: %v", err)
	}
}
