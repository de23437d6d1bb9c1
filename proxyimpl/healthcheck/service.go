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

// ServiceServer runs one HTTP server per Service with a health check node
// port. Each answers 200 when this node has local endpoints for the
// Service and 503 when it has none, with a JSON body naming the Service and
// the local endpoint count. It is safe for concurrent use.
type ServiceServer struct {
	listen ListenFunc
	// bindIPs are the addresses to listen on; empty means all.
	bindIPs []string

	mu        sync.Mutex
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

// SyncEndpoints sets the local endpoint counts; Services missing from
// counts have none.
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
		count := s.endpoints[name]
		s.mu.Unlock()
		writeServiceHealth(w, name, count)
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

func writeServiceHealth(w http.ResponseWriter, name types.NamespacedName, count int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.Itoa(count))
	if count > 0 {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	body, _ := json.Marshal(serviceHealth{
		Service:             serviceRef{Namespace: name.Namespace, Name: name.Name},
		LocalEndpoints:      count,
		ServiceProxyHealthy: true,
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
