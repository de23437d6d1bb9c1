package workload

import (
	"context"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// SetProxyEnv sets the environment variable key=value in every container of
// the DaemonSet ns/name (an empty value removes key) and waits, within
// timeout, until the DaemonSet has rolled out: every pod updated and
// available.
func SetProxyEnv(ctx context.Context, cs kubernetes.Interface, ns, name, key, value string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		ds, err := cs.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for i := range ds.Spec.Template.Spec.Containers {
			setEnv(&ds.Spec.Template.Spec.Containers[i], key, value)
		}
		_, err = cs.AppsV1().DaemonSets(ns).Update(ctx, ds, metav1.UpdateOptions{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("setting %s on daemonset %s/%s: %w", key, ns, name, err)
	}
	return WaitDaemonSetRolledOut(ctx, cs, ns, name, timeout)
}

func setEnv(c *corev1.Container, key, value string) {
	if value == "" {
		c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == key })
		return
	}
	for i := range c.Env {
		if c.Env[i].Name == key {
			c.Env[i].Value, c.Env[i].ValueFrom = value, nil
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: key, Value: value})
}

// WaitDaemonSetRolledOut waits until the DaemonSet ns/name runs its current
// template, updated and available, on every node it should.
func WaitDaemonSetRolledOut(ctx context.Context, cs kubernetes.Interface, ns, name string, timeout time.Duration) error {
	var last *appsv1.DaemonSet
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		ds, err := cs.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = ds
		st := ds.Status
		return st.ObservedGeneration >= ds.Generation &&
			st.DesiredNumberScheduled > 0 &&
			st.UpdatedNumberScheduled == st.DesiredNumberScheduled &&
			st.NumberAvailable == st.DesiredNumberScheduled &&
			st.NumberUnavailable == 0, nil
	})
	if err != nil {
		st := "not found"
		if last != nil {
			s := last.Status
			st = fmt.Sprintf("desired %d, updated %d, available %d", s.DesiredNumberScheduled, s.UpdatedNumberScheduled, s.NumberAvailable)
		}
		return fmt.Errorf("waiting for daemonset %s/%s to roll out (%s): %w", ns, name, st, err)
	}
	return nil
}
