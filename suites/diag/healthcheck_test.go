package diag

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestHealthCheckFile(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kind-worker"},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "172.18.0.3"}}}}
	local := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "app"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, HealthCheckNodePort: 32001}}
	cluster := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "app"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort}}
	probe := "sh -c " + healthCheckScript + " healthchecks 172.18.0.3 app/web 32001"
	cmder := newFakeCmder(map[string]answer{probe: {stdout: "app/web 32001 {\"localEndpoints\":1} HTTP=200\n"}})
	c := &Collector{Clientset: fake.NewClientset(node, local, cluster)}
	rec := c.healthCheckFile(context.Background(), Node{Name: "kind-worker", Cmder: cmder})
	if rec == nil || rec.failed() {
		t.Fatalf("healthCheckFile = %+v, want the probe's answer; ran %q", rec, cmder.ran)
	}
	got := string(rec.content())
	want := "# svccheck: node address 172.18.0.3\napp/web 32001 {\"localEndpoints\":1} HTTP=200\n"
	if got != want {
		t.Errorf("content:\n%s\nwant:\n%s", got, want)
	}

	none := &Collector{Clientset: fake.NewClientset(node, cluster)}
	rec = none.healthCheckFile(context.Background(), Node{Name: "kind-worker", Cmder: newFakeCmder(nil)})
	if rec == nil || rec.failed() || !strings.Contains(string(rec.content()), "no Service has a health check node port") {
		t.Errorf("without health check node ports: %+v", rec)
	}
	if (&Collector{}).healthCheckFile(context.Background(), Node{Name: "kind-worker"}) != nil {
		t.Error("without a client: want no file")
	}
}
