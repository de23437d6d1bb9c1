package workload

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestUpdateService(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	gr := schema.GroupResource{Resource: "services"}
	for _, tc := range []struct {
		name    string
		errs    []error // what the first updates return
		wantErr string
	}{
		{name: "at once"},
		{name: "after a conflict", errs: []error{apierrors.NewConflict(gr, "web", nil)}},
		{name: "invalid, not retried", errs: []error{apierrors.NewBadRequest("spec.ports[0].port: Invalid value: 0")},
			wantErr: "spec.ports[0].port: Invalid value: 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(svc.DeepCopy())
			updates := 0
			cs.PrependReactor("update", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
				updates++
				if updates <= len(tc.errs) {
					return true, nil, tc.errs[updates-1]
				}
				return false, nil, nil
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := UpdateService(ctx, cs, "ns", "web", func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.9" })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || updates != 1 {
					t.Errorf("UpdateService: %v after %d updates, want the API's error %q after one", err, updates, tc.wantErr)
				}
				return
			}
			if err != nil || got.Spec.ClusterIP != "10.96.0.9" || updates != len(tc.errs)+1 {
				t.Errorf("UpdateService: %v, %v after %d updates", got, err, updates)
			}
		})
	}
}
