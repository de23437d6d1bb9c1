package preflight

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// waitGone waits until namespace name is gone, listing it by name (the
// role grants list, not get, on namespaces).
func waitGone(ctx context.Context, cs kubernetes.Interface, name string) error {
	var phase string
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			return false, nil
		}
		if len(l.Items) == 0 {
			return true, nil
		}
		phase = string(l.Items[0].Status.Phase)
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s is %s: %w", name, phase, errStillThere)
	}
	return nil
}
