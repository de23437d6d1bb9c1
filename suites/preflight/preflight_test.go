package preflight

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

func node(name string, mod func(*corev1.Node)) corev1.Node {
	n := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelOSStable: "linux"}},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
	if mod != nil {
		mod(&n)
	}
	return n
}

func TestJudgeNodes(t *testing.T) {
	cp := node("cp", func(n *corev1.Node) { n.Labels[controlPlaneLabel] = "" })
	cordoned := node("w-cordoned", func(n *corev1.Node) {
		n.Spec.Unschedulable = true
		n.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}}
	})
	tainted := node("w-gpu", func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule}, {Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule}}
	})
	notReady := node("w-down", func(n *corev1.Node) {
		n.Status.Conditions[0] = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status."}
	})
	windows := node("w-win", func(n *corev1.Node) { n.Labels[corev1.LabelOSStable] = "windows" })
	for _, tc := range []struct {
		name  string
		nodes []corev1.Node
		want  []string
	}{
		{"enough", []corev1.Node{cp, node("w1", nil), node("w2", nil), cordoned}, nil},
		{"every reason", []corev1.Node{cp, node("w1", nil), cordoned, tainted, notReady, windows}, []string{
			"the specs need 2 schedulable Linux worker nodes, found 1 (w1)",
			"node w-cordoned (cordoned)",
			"node w-gpu (tainted gpu=true:NoSchedule)",
			"node w-down (not Ready (NodeStatusUnknown: Kubelet stopped posting node status.))",
			`node w-win (runs "windows", not linux)`,
		}},
		{"control planes only", []corev1.Node{cp}, []string{"the specs need 2 schedulable Linux worker nodes, found 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := judgeNodes(tc.nodes, 2)
			if diff := cmp.Diff(tc.want, got.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunListsEveryMissingPermission denies two accesses and expects both
// named, and the checks needing them skipped.
func TestRunListsEveryMissingPermission(t *testing.T) {
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w"}})
	denied := map[string]bool{"create pods/exec": true, "create namespaces": true}
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		ra := r.Spec.ResourceAttributes
		res := ra.Resource
		if ra.Subresource != "" {
			res += "/" + ra.Subresource
		}
		r.Status.Allowed = !denied[ra.Verb+" "+res]
		return true, r, nil
	})
	res, err := Run(context.Background(), Config{REST: &rest.Config{Host: "https://api.example:6443"}, Clientset: cs, Image: "img"})
	var failed *Failed
	if !errors.As(err, &failed) {
		t.Fatalf("want *Failed, got %v", err)
	}
	perms := res.Checks[1]
	if perms.Name != CheckPermissions || len(perms.Problems) != 2 {
		t.Fatalf("permissions check: %+v", perms)
	}
	for i, want := range []string{"create namespaces (cluster-scoped)", "create pods/exec (in every namespace)"} {
		if !strings.Contains(perms.Problems[i], want) {
			t.Errorf("problem %d = %q, want it to name %q", i, perms.Problems[i], want)
		}
	}
	for _, c := range res.Checks[3:] {
		if c.Skipped != "needs create namespaces" {
			t.Errorf("check %s: skipped %q, want it skipped for the missing namespace create", c.Name, c.Skipped)
		}
	}
	if msg := err.Error(); !strings.Contains(msg, "https://api.example:6443") || !strings.Contains(msg, "nodes: the specs need 2") {
		t.Errorf("error does not name the server and every problem:\n%s", msg)
	}
}
