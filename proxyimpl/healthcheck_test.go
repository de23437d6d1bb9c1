package proxyimpl

import (
	"errors"
	"net/http"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/svccheck/svccheck/proxyimpl/healthcheck"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
)

// localService makes a Service NodePort with externalTrafficPolicy Local
// and health check node port 32000.
func localService(s *v1.Service) {
	s.Spec.Type = v1.ServiceTypeNodePort
	s.Spec.Ports[0].NodePort = 30080
	s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	s.Spec.HealthCheckNodePort = 32000
}

// TestHealthCheckCountsReadyLocalEndpoints checks the health check node
// port's count: ready local endpoints only, each address once over the
// Service's ports; a node whose local endpoints are all terminating (and
// still serving, so traffic reaching it is still served) answers 503.
func TestHealthCheckCountsReadyLocalEndpoints(t *testing.T) {
	servers := healthcheck.NewServiceServer(func(network, _ string) (netListener, error) {
		return listenLoopback(network)
	})
	defer servers.Close()
	webSlice := slice("demo", "web", "web-1", 8080, v1.ProtocolTCP,
		endpoint{"10.244.1.5", testNode}, endpoint{"10.244.1.6", testNode}, endpoint{"10.244.2.6", "node-b"})
	env := newEnv(t, func(c *Config) { c.ServiceHealth = servers },
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP, localService), webSlice)
	env.start(3)
	env.sync()
	web := types.NamespacedName{Namespace: "demo", Name: "web"}
	if code, body := get(t, servers.Handler(web)); code != http.StatusOK || body["localEndpoints"] != float64(2) {
		t.Errorf("two ready local endpoints: health check answered %d %v, want 200 with 2 local endpoints", code, body)
	}

	terminating := webSlice.DeepCopy()
	no, yes := false, true
	for i := range terminating.Endpoints[:2] {
		terminating.Endpoints[i].Conditions = discoveryConditions(&no, &yes, &yes)
	}
	env.updateSlice(terminating)
	env.waitEvents(4)
	env.sync()
	if code, body := get(t, servers.Handler(web)); code != http.StatusServiceUnavailable || body["localEndpoints"] != float64(0) {
		t.Errorf("only terminating local endpoints: health check answered %d %v, want 503 with 0 local endpoints", code, body)
	}
	// The terminating endpoints still get the traffic that arrives.
	res := env.trace(iptablesPacketFrom("203.0.113.7", testNodeIP, 30080))
	if got := res.Endpoints(); len(got) != 2 {
		t.Errorf("node port traffic goes to %v, want the two serving terminating local endpoints", got)
	}
}

// TestHealthCheckFollowsProxyHealth checks that every health check node
// port answers 503 while syncs keep failing past the health timeout, and
// 200 again after a successful sync.
func TestHealthCheckFollowsProxyHealth(t *testing.T) {
	servers := healthcheck.NewServiceServer(func(network, _ string) (netListener, error) {
		return listenLoopback(network)
	})
	defer servers.Close()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	health := healthcheck.NewProxyHealth(time.Minute, clk)
	webSlice := slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode})
	env := newEnv(t, func(c *Config) { c.ServiceHealth = servers; c.Health = health; c.Clock = clk },
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP, localService), webSlice)
	env.start(3)
	env.sync()
	web := types.NamespacedName{Namespace: "demo", Name: "web"}
	if code, body := get(t, servers.Handler(web)); code != http.StatusOK || body["serviceProxyHealthy"] != true {
		t.Fatalf("after a sync: health check answered %d %v, want 200 with a healthy proxy", code, body)
	}

	moved := webSlice.DeepCopy()
	moved.Endpoints = append(moved.Endpoints, moved.Endpoints[0])
	moved.Endpoints[1].Addresses = []string{"10.244.1.8"}
	env.updateSlice(moved)
	env.waitEvents(4)
	for i := 0; i < 3; i++ {
		env.ipt.FailNextRestore(errors.New("injected restore failure"))
		if err := env.p.Sync(env.ctx); err == nil {
			t.Fatal("Sync succeeded although the restore failed")
		}
		clk.Step(25 * time.Second)
	}
	if code, body := get(t, servers.Handler(web)); code != http.StatusServiceUnavailable || body["serviceProxyHealthy"] != false {
		t.Errorf("syncs failing for 75s: health check answered %d %v, want 503 with an unhealthy proxy", code, body)
	}
	env.sync()
	if code, body := get(t, servers.Handler(web)); code != http.StatusOK || body["localEndpoints"] != float64(2) {
		t.Errorf("after a successful sync: health check answered %d %v, want 200 with 2 local endpoints", code, body)
	}
}

// discoveryConditions returns EndpointSlice conditions.
func discoveryConditions(ready, serving, terminating *bool) discoveryv1.EndpointConditions {
	return discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating}
}

// iptablesPacketFrom is a TCP packet from src, arriving from outside the
// node, to dst:port.
func iptablesPacketFrom(src, dst string, port uint16) iptrace.Packet {
	return iptrace.Packet{Source: src, Destination: dst, Protocol: "tcp", DestinationPort: port}
}
