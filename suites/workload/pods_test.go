package workload

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestAgentPodPullPolicy(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		// Side-loaded into kind nodes: no registry serves it.
		"svccheck.local/svccheck:0123456789abcdef": corev1.PullNever,
		// Pushed to a registry the cluster pulls from.
		"registry.example/svccheck:v1": corev1.PullIfNotPresent,
	} {
		if got := AgentPod("ns", image, Pod{Name: "p"}).Spec.Containers[0].ImagePullPolicy; got != want {
			t.Errorf("the agent pod of %s pulls %s, want %s", image, got, want)
		}
	}
}

func TestCreateNamespaceLabels(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "namespaces", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj := action.(k8stesting.CreateAction).GetObject().(*corev1.Namespace)
		obj.Name = obj.GenerateName + "x"
		return false, nil, nil
	})
	name, err := CreateNamespace(context.Background(), cs, "svcchk", map[string]string{"svccheck.io/run-id": "r1"})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ManagedLabel: "true", "svccheck.io/run-id": "r1"}
	if diff := cmp.Diff(want, ns.Labels); diff != "" {
		t.Errorf("namespace labels (-want +got):\n%s", diff)
	}
}
