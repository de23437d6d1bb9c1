package diag

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Labels on the host pods and their namespace, so whatever a run leaves
// behind can be found (and deleted) by label.
const (
	// LabelManagedBy and ManagedBy mark objects svccheck made.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "svccheck"
	// LabelRunID carries the id of the svccheck process that made an object.
	LabelRunID = "svccheck.io/run-id"
)

// DefaultHostPodLifetime is how long a host pod lives at most when
// HostPods.Lifetime is zero.
const DefaultHostPodLifetime = 30 * time.Minute

// hostPodCapabilities are all a host pod holds: NET_ADMIN for the netlink
// dumps (nft, conntrack, iptables-nft), NET_RAW for iptables-legacy's raw
// socket, SYS_CHROOT for exec-host's chroot into the node's root.
var hostPodCapabilities = []corev1.Capability{"NET_ADMIN", "NET_RAW", "SYS_CHROOT"}

// HostPodHoldCommand returns the svccheck command line (after the binary) a
// host pod runs: hold keeps the pod alive for lifetime, then exits.
func HostPodHoldCommand(lifetime time.Duration) []string {
	return append(append([]string(nil), HostPodHoldArgs...), "--for", lifetime.String())
}

func (h *HostPods) lifetime() time.Duration {
	if h.Lifetime > 0 {
		return h.Lifetime.Truncate(time.Second)
	}
	return DefaultHostPodLifetime
}

func (h *HostPods) labels() map[string]string {
	return map[string]string{hostPodLabel: hostPodValue, LabelManagedBy: ManagedBy, LabelRunID: h.RunID}
}

func (h *HostPods) namespaceObject() *corev1.Namespace {
	labels := h.labels()
	labels["pod-security.kubernetes.io/enforce"] = "privileged"
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "svccheck-dump-", Labels: labels}}
}

// podFor returns the host pod of node: host network (the node's netfilter,
// routes and sysctls, and the proxy's loopback ports), the node's root
// read-only at HostRoot, three capabilities and no privilege, and a
// deadline after which the kubelet kills it even if svccheck is gone.
func (h *HostPods) podFor(node string) *corev1.Pod {
	hostPathType := corev1.HostPathDirectory
	lifetime := h.lifetime()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "dump-", Labels: h.labels()},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			HostNetwork:                   true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         ptr.To(int64(lifetime / time.Second)),
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To(int64(1)),
			SecurityContext: &corev1.PodSecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            "dump",
				Image:           h.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         append([]string{HostPodBinary}, HostPodHoldCommand(lifetime)...),
				SecurityContext: &corev1.SecurityContext{
					Capabilities: &corev1.Capabilities{
						Drop: []corev1.Capability{"ALL"},
						Add:  hostPodCapabilities,
					},
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
				},
				VolumeMounts: []corev1.VolumeMount{{
					Name: "host", MountPath: HostRoot, ReadOnly: true,
					RecursiveReadOnly: ptr.To(corev1.RecursiveReadOnlyIfPossible),
				}},
			}},
			Volumes: []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: "/", Type: &hostPathType},
			}}},
		},
	}
}

// DeleteCommand returns the kubectl command that deletes the host pods of
// this run (the namespace holding them), for kubeconfig.
func (h *HostPods) DeleteCommand(kubeconfig string) string {
	args := []string{"kubectl"}
	if kubeconfig != "" {
		args = append(args, "--kubeconfig", kubeconfig)
	}
	ns := h.Namespace()
	if ns == "" {
		args = append(args, "delete", "namespace", "-l", LabelRunID+"="+h.RunID)
	} else {
		args = append(args, "delete", "namespace", ns)
	}
	return strings.Join(args, " ")
}

// LeftBehind describes the host pods that exist, for a message saying what
// a forced quit leaves: the namespace, its pods and when they end by
// themselves. It is empty when nothing was created.
func (h *HostPods) LeftBehind() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.namespace == "" {
		return ""
	}
	var pods []string
	for _, node := range sortedKeys(h.pods) {
		pods = append(pods, fmt.Sprintf("%s (node %s)", h.pods[node], node))
	}
	what := "no pods yet"
	if len(pods) > 0 {
		what = "host pods " + strings.Join(pods, ", ")
	}
	return fmt.Sprintf("namespace %s with %s, labelled %s=%s; the pods stop by themselves by %s",
		h.namespace, what, LabelRunID, h.RunID, h.started.Add(h.lifetime()).UTC().Format("15:04:05 UTC"))
}
