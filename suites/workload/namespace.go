package workload

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// CreateNamespace creates a namespace named prefix plus a random suffix,
// labelled ManagedLabel and labels, and returns its name.
func CreateNamespace(ctx context.Context, cs kubernetes.Interface, prefix string, labels ...map[string]string) (string, error) {
	all := map[string]string{ManagedLabel: "true"}
	for _, l := range labels {
		maps.Copy(all, l)
	}
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: all},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating namespace %s-*: %w", prefix, err)
	}
	return ns.Name, nil
}

// DeleteNamespace deletes a namespace without waiting for it to go.
func DeleteNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	if err != nil {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	return nil
}
