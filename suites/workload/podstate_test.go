package workload

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestSetServingGate(t *testing.T) {
	ctx := context.Background()
	pod := WithServingGate(AgentPod("ns", "img", Pod{Name: "p"}))
	cs := fake.NewClientset(pod)
	for _, serving := range []bool{true, false, true} {
		if err := SetServingGate(ctx, cs, "ns", "p", serving); err != nil {
			t.Fatal(err)
		}
		got, err := cs.CoreV1().Pods("ns").Get(ctx, "p", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := corev1.ConditionFalse
		if serving {
			want = corev1.ConditionTrue
		}
		if n := len(got.Status.Conditions); n != 1 || got.Status.Conditions[0].Type != ServingGate || got.Status.Conditions[0].Status != want {
			t.Errorf("after SetServingGate(%t): conditions %+v, want one %s=%s", serving, got.Status.Conditions, ServingGate, want)
		}
	}
}

func TestPodOptions(t *testing.T) {
	p := WithHTTPPort(WithPreStopSleep(AgentPod("ns", "img", Pod{Name: "p", HostNetwork: true}), 30), 21000)
	c := p.Spec.Containers[0]
	if got := *p.Spec.TerminationGracePeriodSeconds; got != 30 {
		t.Errorf("grace period %d, want 30", got)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != 30 {
		t.Errorf("preStop %+v, want a 30 s sleep", c.Lifecycle)
	}
	if got := strings.Join(c.Command, " "); !strings.Contains(got, "--http-port 21000 --udp-port 0") {
		t.Errorf("command %q serves elsewhere than port 21000 alone", got)
	}
	if got := c.ReadinessProbe.HTTPGet.Port.IntValue(); got != 21000 || c.Ports[0].ContainerPort != 21000 || len(c.Ports) != 1 {
		t.Errorf("readiness probe port %d, ports %+v, want 21000 alone", got, c.Ports)
	}
}

func TestWaitEndpointConditions(t *testing.T) {
	no, yes := false, true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.244.1.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}},
			{Addresses: []string{"10.244.2.5"}},
		},
	}
	cs := fake.NewClientset(slice)
	ctx := context.Background()
	if err := WaitEndpointConditions(ctx, cs, "ns", "web", "10.244.1.5", false, true, true, time.Second); err != nil {
		t.Errorf("terminating serving endpoint: %v", err)
	}
	if err := WaitEndpointConditions(ctx, cs, "ns", "web", "10.244.2.5", true, true, false, time.Second); err != nil {
		t.Errorf("endpoint with unset conditions: %v", err)
	}
	err := WaitEndpointConditions(ctx, cs, "ns", "web", "10.244.1.5", false, false, true, 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "10.244.1.5 ready=false serving=true terminating=true") {
		t.Errorf("serving endpoint waited for as not serving: %v, want a timeout naming its conditions", err)
	}
}
