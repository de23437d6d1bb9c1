package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// ListenFunc opens a listener, like net.Listen.
type ListenFunc func(network, address string) (net.Listener, error)

// ProxyChecker reports whether the proxy keeps its rules up to date.
// ProxyHealth is one.
type ProxyChecker interface {
	// Healthy reports whether the proxy is healthy now.
	Healthy() bool
}

var _ ProxyChecker = (*ProxyHealth)(nil)

// ServiceServer runs one HTTP server per Service with a health check node
// port. Each answers 200 when this node has ready local endpoints for the
// Service and the proxy is healthy, and 503 otherwise, with a JSON body
// naming the Service, the local endpoint count and the proxy's health, as
// kube-proxy does. It is safe for concurrent use.
type ServiceServer struct {
	listen ListenFunc
	// bindIPs are the addresses to listen on; empty means all.
	bindIPs []string

	mu        sync.Mutex
	proxy     ProxyChecker // nil: healthy
	services  map[types.NamespacedName]*hcInstance
	endpoints map[types.NamespacedName]int
}

// hcInstance is the server of one Service.
type hcInstance struct {
	port    int32
	servers []*http.Server
}

// NewServiceServer returns a ServiceServer opening its listeners with
// listen (net.Listen when nil) on each of bindIPs (all addresses when
// empty).
func NewServiceServer(listen ListenFunc, bindIPs ...string) *ServiceServer {
	if listen == nil {
		listen = net.Listen
	}
	return &ServiceServer{
		listen:    listen,
		bindIPs:   bindIPs,
		services:  map[types.NamespacedName]*hcInstance{},
		endpoints: map[types.NamespacedName]int{},
	}
}

// SyncServices makes the set of served Services exactly services (Service
// to health check node port): servers of Services no longer listed stop,
// new ones start, and a changed port restarts. It returns the errors of
// the servers that could not start; the others keep serving.
func (s *ServiceServer) SyncServices(services map[types.NamespacedName]int32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, inst := range s.services {
		if port, ok := services[name]; !ok || port != inst.port {
			inst.close()
			delete(s.services, name)
		}
	}
	var errs []error
	for name, port := range services {
		if _, ok := s.services[name]; ok {
			continue
		}
		inst, err := s.start(name, port)
		if err != nil {
			errs = append(errs, fmt.Errorf("starting health check server for %s on port %d: %w", name, port, err))
			continue
		}
		s.services[name] = inst
	}
	return errors.Join(errs...)
}

// SetProxyHealth makes every answer depend on h too: while h reports the
// proxy unhealthy, every health check node port answers 503, whatever its
// endpoints. Without it the proxy counts as healthy.
func (s *ServiceServer) SetProxyHealth(h ProxyChecker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proxy = h
}

// SyncEndpoints sets the local endpoint counts (ready local endpoints,
// terminating ones left out); Services missing from counts have none.
func (s *ServiceServer) SyncEndpoints(counts map[types.NamespacedName]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoints = make(map[types.NamespacedName]int, len(counts))
	for n, c := range counts {
		s.endpoints[n] = c
	}
}

// Ports returns the health check node port of every served Service.
func (s *ServiceServer) Ports() map[types.NamespacedName]int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[types.NamespacedName]int32, len(s.services))
	for n, inst := range s.services {
		out[n] = inst.port
	}
	return out
}

// Close stops every server.
func (s *ServiceServer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, inst := range s.services {
		inst.close()
		delete(s.services, name)
	}
}

// Handler returns the HTTP handler answering for the Service name.
func (s *ServiceServer) Handler(name types.NamespacedName) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		count, proxy := s.endpoints[name], s.proxy
		s.mu.Unlock()
		writeServiceHealth(w, name, count, proxy == nil || proxy.Healthy())
	})
}

// serviceHealth is the JSON body of a health check answer.
type serviceHealth struct {
	Service             serviceRef `json:"service"`
	LocalEndpoints      int        `json:"localEndpoints"`
	ServiceProxyHealthy bool       `json:"serviceProxyHealthy"`
}

type serviceRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// writeServiceHealth answers 200 when the node has local endpoints and the
// proxy is healthy, else 503.
func writeServiceHealth(w http.ResponseWriter, name types.NamespacedName, count int, proxyHealthy bool) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.Itoa(count))
	if count > 0 && proxyHealthy {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	body, _ := json.Marshal(serviceHealth{
		Service:             serviceRef{Namespace: name.Namespace, Name: name.Name},
		LocalEndpoints:      count,
		ServiceProxyHealthy: proxyHealthy,
	})
	_, _ = w.Write(body)
}

func (s *ServiceServer) start(name types.NamespacedName, port int32) (*hcInstance, error) {
	addrs := s.bindIPs
	if len(addrs) == 0 {
		addrs = []string{""}
	}
	inst := &hcInstance{port: port}
	for _, ip := range addrs {
		l, err := s.listen("tcp", net.JoinHostPort(ip, strconv.Itoa(int(port))))
		if err != nil {
			inst.close()
			return nil, fmt.Errorf("listening: %w", err)
		}
		srv := &http.Server{Handler: s.Handler(name), ReadHeaderTimeout: 10 * time.Second}
		inst.servers = append(inst.servers, srv)
		go func() { _ = srv.Serve(l) }()
	}
	return inst, nil
}

func (inst *hcInstance) close() {
	for _, srv := range inst.servers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
}
