package diag

import corev1 "k8s.io/api/core/v1"

// PodObject returns the pod Start creates on node, so that a preflight can
// ask the cluster's admission about it (a server-side dry run) before
// anything runs.
func (h *HostPods) PodObject(node string) *corev1.Pod { return h.podFor(node) }
