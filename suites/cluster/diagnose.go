package cluster

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
)

// diagLogLines is how many log lines per container a diagnosis carries.
const diagLogLines = 30

// diagnose describes the kube-system pods matching selector: their phase and
// container states, their last log lines and their events, much like
// kubectl describe and kubectl logs. It never fails: what it cannot read, it
// says.
func (c *Cluster) diagnose(ctx context.Context, selector string) string {
	var b strings.Builder
	pods, err := c.Clientset.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		fmt.Fprintf(&b, "\n  listing pods %s: %v", selector, err)
		return b.String()
	}
	if len(pods.Items) == 0 {
		fmt.Fprintf(&b, "\n  no pods match %s", selector)
	}
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "\n--- pod %s/%s on node %q: %s", p.Namespace, p.Name, p.Spec.NodeName, p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, "\n  container %s: ready=%t restarts=%d %s", cs.Name, cs.Ready, cs.RestartCount, containerState(cs.State))
		}
		c.writeEvents(ctx, &b, p)
		for _, ctr := range p.Spec.Containers {
			c.writeLogs(ctx, &b, p, ctr.Name)
		}
	}
	return b.String()
}

func containerState(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return fmt.Sprintf("waiting (%s: %s)", s.Waiting.Reason, s.Waiting.Message)
	case s.Terminated != nil:
		return fmt.Sprintf("terminated (%s, exit %d: %s)", s.Terminated.Reason, s.Terminated.ExitCode, s.Terminated.Message)
	case s.Running != nil:
		return "running"
	}
	return "unknown"
}

// writeEvents writes the events about pod p, oldest first.
func (c *Cluster) writeEvents(ctx context.Context, w io.Writer, p corev1.Pod) {
	sel := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": p.Name}.String()
	evs, err := c.Clientset.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		fmt.Fprintf(w, "\n  events: %v", err)
		return
	}
	items := evs.Items
	sort.Slice(items, func(i, j int) bool { return items[i].LastTimestamp.Before(&items[j].LastTimestamp) })
	fmt.Fprintf(w, "\n  events:")
	for _, e := range items {
		fmt.Fprintf(w, "\n    %s %s (x%d): %s", e.Type, e.Reason, max(e.Count, 1), strings.TrimSpace(e.Message))
	}
}

// writeLogs writes the last diagLogLines lines of a container's log.
func (c *Cluster) writeLogs(ctx context.Context, w io.Writer, p corev1.Pod, container string) {
	raw, err := c.Clientset.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{
		Container: container, TailLines: ptr.To[int64](diagLogLines),
	}).DoRaw(ctx)
	if err != nil {
		fmt.Fprintf(w, "\n  logs of %s: %v", container, err)
		return
	}
	fmt.Fprintf(w, "\n  last logs of %s:", container)
	for _, l := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		fmt.Fprintf(w, "\n    %s", l)
	}
}
