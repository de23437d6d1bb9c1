package preflight

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// controlPlaneLabel marks control-plane nodes, which the specs do not count
// as workers.
const controlPlaneLabel = "node-role.kubernetes.io/control-plane"

func (r *runner) checkNodes(ctx context.Context) CheckResult {
	if why := r.lacks(Access{Resource: "nodes", Verb: "list"}); why != "" {
		return CheckResult{Skipped: why}
	}
	list, err := r.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return CheckResult{Problems: []string{fmt.Sprintf("listing nodes: %v", err)}}
	}
	c, usable := judgeNodes(list.Items, r.cfg.MinWorkers)
	r.workers = usable
	return c
}

// judgeNodes counts the usable workers among nodes: Linux, Ready, not
// cordoned, without a NoSchedule or NoExecute taint, not a control plane.
// With fewer than min, every worker that is not usable is named with why.
// It also returns the usable workers.
func judgeNodes(nodes []corev1.Node, min int) (CheckResult, []string) {
	var usable, unusable []string
	controlPlanes := 0
	for i := range nodes {
		n := &nodes[i]
		if _, ok := n.Labels[controlPlaneLabel]; ok {
			controlPlanes++
			continue
		}
		if why := nodeProblems(n); len(why) > 0 {
			unusable = append(unusable, fmt.Sprintf("%s (%s)", n.Name, strings.Join(why, ", ")))
			continue
		}
		usable = append(usable, n.Name)
	}
	detail := fmt.Sprintf("%d schedulable Linux workers (%s), %d control-plane nodes not counted",
		len(usable), strings.Join(usable, ", "), controlPlanes)
	if len(usable) >= min {
		return CheckResult{Detail: detail}, usable
	}
	p := fmt.Sprintf("the specs need %d schedulable Linux worker nodes, found %d", min, len(usable))
	if len(usable) > 0 {
		p += " (" + strings.Join(usable, ", ") + ")"
	}
	problems := []string{p}
	for _, u := range unusable {
		problems = append(problems, "node "+u)
	}
	return CheckResult{Problems: problems}, usable
}

// nodeProblems says why a worker cannot take svccheck's pods.
func nodeProblems(n *corev1.Node) []string {
	var why []string
	if os := nodeOS(n); os != "linux" {
		why = append(why, fmt.Sprintf("runs %q, not linux", os))
	}
	if n.Spec.Unschedulable {
		why = append(why, "cordoned")
	}
	for _, t := range n.Spec.Taints {
		if conditionTaints[t.Key] {
			continue // said by "cordoned" and "not Ready"
		}
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			why = append(why, fmt.Sprintf("tainted %s", taintString(t)))
		}
	}
	if ready := readyCondition(n); ready == nil {
		why = append(why, "no Ready condition")
	} else if ready.Status != corev1.ConditionTrue {
		why = append(why, fmt.Sprintf("not Ready (%s: %s)", ready.Reason, ready.Message))
	}
	return why
}

// conditionTaints are the taints the node controller sets for cordoned and
// not-ready nodes.
var conditionTaints = map[string]bool{
	corev1.TaintNodeUnschedulable: true, corev1.TaintNodeNotReady: true, corev1.TaintNodeUnreachable: true,
}

func nodeOS(n *corev1.Node) string {
	if os := n.Labels[corev1.LabelOSStable]; os != "" {
		return os
	}
	return n.Status.NodeInfo.OperatingSystem
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func taintString(t corev1.Taint) string {
	if t.Value == "" {
		return fmt.Sprintf("%s:%s", t.Key, t.Effect)
	}
	return fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect)
}
