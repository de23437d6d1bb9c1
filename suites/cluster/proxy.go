package cluster

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// ProxyNamespace and ProxyName name the svccheck proxy's DaemonSet, its
// ServiceAccount, ClusterRole(Binding) and kubeconfig ConfigMap.
const (
	ProxyNamespace = "kube-system"
	ProxyName      = "svccheck-proxy"
)

// ProxyHealthzPort is the port of the proxy's /healthz on every node.
const ProxyHealthzPort = 10266

// proxyLabels select the proxy's pods.
var proxyLabels = map[string]string{"k8s-app": ProxyName}

// proxyKubeconfig returns a kubeconfig that reaches the API server at
// server directly (no Service routing exists before the proxy runs) with the
// pod's ServiceAccount token and CA.
func proxyKubeconfig(server string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: default
  cluster:
    server: %s
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
contexts:
- name: default
  context:
    cluster: default
    user: default
current-context: default
`, server)
}

// proxyObjects are the API objects running the svccheck proxy.
type proxyObjects struct {
	ServiceAccount     *corev1.ServiceAccount
	ClusterRole        *rbacv1.ClusterRole
	ClusterRoleBinding *rbacv1.ClusterRoleBinding
	ConfigMap          *corev1.ConfigMap
	DaemonSet          *appsv1.DaemonSet
}

// newProxyObjects returns the objects running the svccheck proxy from image
// on every node, talking to the API server at apiServer (https://IP:6443).
func newProxyObjects(image, apiServer string) proxyObjects {
	meta := metav1.ObjectMeta{Name: ProxyName, Namespace: ProxyNamespace, Labels: proxyLabels}
	clusterMeta := metav1.ObjectMeta{Name: "svccheck:proxy", Labels: proxyLabels}
	return proxyObjects{
		ServiceAccount: &corev1.ServiceAccount{ObjectMeta: meta},
		ClusterRole: &rbacv1.ClusterRole{ObjectMeta: clusterMeta, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services", "nodes"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch", "update"}},
		}},
		ClusterRoleBinding: &rbacv1.ClusterRoleBinding{
			ObjectMeta: clusterMeta,
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: clusterMeta.Name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: ProxyName, Namespace: ProxyNamespace}},
		},
		ConfigMap: &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"kubeconfig": proxyKubeconfig(apiServer)}},
		DaemonSet: proxyDaemonSet(meta, image),
	}
}

// ProxyHostRoot is where the proxy's pods mount the node's root (read-only)
// and chroot into to run the node's own iptables, iptables-restore and
// conntrack; XTablesLock is the node's xtables lock file, the one path
// under it the proxy writes (iptables-legacy takes the lock there).
const (
	ProxyHostRoot = "/host"
	XTablesLock   = "/run/xtables.lock"
)

// proxyDaemonSet returns the DaemonSet running `svccheck proxy` on every
// node: host network, the node's root read-only at ProxyHostRoot so the
// node's own iptables binaries and backend are used (chrooted), its xtables
// lock read-write over it, only the capabilities that needs (netlink and
// iptables' raw socket: NET_ADMIN, NET_RAW; the chroot: SYS_CHROOT), no
// privilege escalation and the runtime's default seccomp profile.
func proxyDaemonSet(meta metav1.ObjectMeta, image string) *appsv1.DaemonSet {
	args := []string{
		"proxy",
		"--kubeconfig=/etc/svccheck/kubeconfig",
		"--hostname-override=$(NODE_NAME)",
		"--node-ip=$(NODE_IP)",
		"--cluster-cidr=" + PodSubnet,
		"--iptables-root=" + ProxyHostRoot,
		"--iptables-backend=auto",
		fmt.Sprintf("--healthz-bind-address=0.0.0.0:%d", ProxyHealthzPort),
		"--metrics-bind-address=127.0.0.1:10269",
		"-v=2",
	}
	container := corev1.Container{
		Name:            "proxy",
		Image:           image,
		ImagePullPolicy: corev1.PullNever,
		Args:            args,
		Env: []corev1.EnvVar{
			{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "NODE_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
		},
		SecurityContext: &corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{
				Drop: []corev1.Capability{"ALL"},
				Add:  []corev1.Capability{"NET_ADMIN", "NET_RAW", "SYS_CHROOT"},
			},
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromInt32(ProxyHealthzPort),
			}},
			PeriodSeconds: 2, FailureThreshold: 3,
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "host", MountPath: ProxyHostRoot, ReadOnly: true, RecursiveReadOnly: ptr.To(corev1.RecursiveReadOnlyIfPossible)},
			{Name: "xtables-lock", MountPath: ProxyHostRoot + XTablesLock},
			{Name: "kubeconfig", MountPath: "/etc/svccheck", ReadOnly: true},
		},
	}
	return &appsv1.DaemonSet{
		ObjectMeta: meta,
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: proxyLabels},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: proxyLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            ProxyName,
					HostNetwork:                   true,
					PriorityClassName:             "system-node-critical",
					Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					TerminationGracePeriodSeconds: ptr.To[int64](5),
					SecurityContext: &corev1.PodSecurityContext{
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{container},
					Volumes: []corev1.Volume{
						{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
							Path: "/", Type: ptr.To(corev1.HostPathDirectory),
						}}},
						{Name: "xtables-lock", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
							Path: XTablesLock, Type: ptr.To(corev1.HostPathFileOrCreate),
						}}},
						{Name: "kubeconfig", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: ProxyName},
						}}},
					},
				},
			},
		},
	}
}
