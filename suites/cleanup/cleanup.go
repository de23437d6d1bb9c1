package cleanup

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/svccheck/svccheck/suites/diag"
)

// NoRunID groups namespaces managed by svccheck that carry no run id.
const NoRunID = "(none)"

// Namespace is one namespace svccheck left.
type Namespace struct {
	// Name is the namespace's name.
	Name string
	// Phase is Active or Terminating.
	Phase corev1.NamespacePhase
	// Created is when it was made.
	Created time.Time
}

// Run is what one svccheck run (one run id) left.
type Run struct {
	// ID is the run id label's value, or NoRunID.
	ID string
	// Namespaces are sorted by name.
	Namespaces []Namespace
}

// Selector returns the label selector of svccheck's namespaces, of run id
// runID when it is not empty.
func Selector(runID string) string {
	sel := diag.LabelManagedBy + "=" + diag.ManagedBy
	if runID != "" {
		sel += "," + diag.LabelRunID + "=" + runID
	}
	return sel
}

// Find lists the namespaces svccheck left (of run runID, or of every run
// when it is empty), grouped by run id, the oldest run first.
func Find(ctx context.Context, cs kubernetes.Interface, runID string) ([]Run, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: Selector(runID)})
	if err != nil {
		return nil, fmt.Errorf("listing namespaces labelled %s: %w", Selector(runID), err)
	}
	byRun := map[string][]Namespace{}
	for _, ns := range list.Items {
		id := ns.Labels[diag.LabelRunID]
		if id == "" {
			id = NoRunID
		}
		byRun[id] = append(byRun[id], Namespace{Name: ns.Name, Phase: ns.Status.Phase, Created: ns.CreationTimestamp.Time})
	}
	runs := make([]Run, 0, len(byRun))
	for _, id := range slices.Sorted(maps.Keys(byRun)) {
		nss := byRun[id]
		slices.SortFunc(nss, func(a, b Namespace) int { return strings.Compare(a.Name, b.Name) })
		runs = append(runs, Run{ID: id, Namespaces: nss})
	}
	slices.SortStableFunc(runs, func(a, b Run) int { return a.oldest().Compare(b.oldest()) })
	return runs, nil
}

func (r Run) oldest() time.Time {
	t := r.Namespaces[0].Created
	for _, ns := range r.Namespaces[1:] {
		if ns.Created.Before(t) {
			t = ns.Created
		}
	}
	return t
}

// Delete deletes the namespaces of runs, their pods first (at once, not
// waiting for the kubelet: they are svccheck's own), and waits until every
// namespace is gone or ctx ends. progress gets a line per step and, every
// 10 seconds, what is still going.
func Delete(ctx context.Context, cs kubernetes.Interface, runs []Run, progress func(string)) error {
	pending := map[string]bool{}
	for _, r := range runs {
		for _, ns := range r.Namespaces {
			if err := deleteNamespace(ctx, cs, ns.Name); err != nil {
				return err
			}
			progress(fmt.Sprintf("deleting namespace %s (run %s)", ns.Name, r.ID))
			pending[ns.Name] = true
		}
	}
	start, lastReport := time.Now(), time.Now()
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		for _, name := range slices.Sorted(maps.Keys(pending)) {
			l, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
			if err != nil {
				continue
			}
			if len(l.Items) == 0 {
				delete(pending, name)
				progress(fmt.Sprintf("namespace %s is gone (%s)", name, time.Since(start).Round(time.Second)))
			}
		}
		if len(pending) > 0 && time.Since(lastReport) >= 10*time.Second {
			lastReport = time.Now()
			progress(fmt.Sprintf("waiting for %d namespaces to go: %s", len(pending), strings.Join(slices.Sorted(maps.Keys(pending)), ", ")))
		}
		return len(pending) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("namespaces still terminating: %s: %w", strings.Join(slices.Sorted(maps.Keys(pending)), ", "), err)
	}
	return nil
}

// deleteNamespace deletes the pods of namespace name with no grace period,
// then the namespace.
func deleteNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	now := metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}
	pods, err := cs.CoreV1().Pods(name).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing the pods of namespace %s: %w", name, err)
	}
	for _, p := range pods.Items {
		if err := cs.CoreV1().Pods(name).Delete(ctx, p.Name, now); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting pod %s/%s: %w", name, p.Name, err)
		}
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, name, now); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	return nil
}
