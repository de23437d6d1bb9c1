package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// streamPort is where the stream servers of the restart and outage tests
// listen: unlike the echo servers, they keep a connection open and answer
// every line on it.
const streamPort = 9090

// newConnTimeout bounds a monitor's new connection: longer than a
// connection through working rules takes, shorter than the retransmitted
// SYN that would rescue a connection whose first SYN found no rules.
const newConnTimeout = 900 * time.Millisecond

// dialInNS connects to addr from inside namespace ns; the socket stays in
// ns, so the test process can use it from any thread.
func dialInNS(ns, addr string, timeout time.Duration) (net.Conn, error) {
	var conn net.Conn
	err := inNS(ns, func() error {
		var err error
		conn, err = net.DialTimeout("tcp4", addr, timeout)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dialing %s from namespace %s: %w", addr, ns, err)
	}
	return conn, nil
}

// startStream serves, in every given pod, a TCP server on streamPort that
// answers each line of a connection with "<pod name> <line>", until the
// test ends.
func startStream(t *testing.T, pods ...*Pod) {
	t.Helper()
	for _, p := range pods {
		l, err := ListenInNS(context.Background(), p.NS, "tcp4", hostPort(p.IP, streamPort))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer conn.Close()
					sc := bufio.NewScanner(conn)
					for sc.Scan() {
						if _, err := fmt.Fprintf(conn, "%s %s\n", p.Name, sc.Text()); err != nil {
							return
						}
					}
				}()
			}
		}()
	}
}

// streamSlice is newSlice with the endpoints' port set to streamPort.
func streamSlice(svc *v1.Service, pods ...*Pod) *discoveryv1.EndpointSlice {
	es := newSlice(svc, pods...)
	port := int32(streamPort)
	es.Ports[0].Port = &port
	return es
}

// exchange sends one line on conn and returns who answered it.
func exchange(conn net.Conn, r *bufio.Reader, line string, timeout time.Duration) (string, error) {
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := fmt.Fprintln(conn, line); err != nil {
		return "", fmt.Errorf("sending %q: %w", line, err)
	}
	reply, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading the answer to %q: %w", line, err)
	}
	server, echoed, ok := strings.Cut(strings.TrimSpace(reply), " ")
	if !ok || echoed != line {
		return "", fmt.Errorf("answer %q to %q", reply, line)
	}
	return server, nil
}

// monitor keeps traffic flowing to a Service address from one pod while a
// test disturbs the proxy: one established connection that must keep its
// backend, and a new connection every interval that must be answered.
type monitor struct {
	stop        chan struct{}
	wg          sync.WaitGroup
	mu          sync.Mutex
	failures    []string       // of the established connection
	newFailures []string       // of new connections
	counts      map[string]int // new connections answered, by backend
	kept        int            // exchanges on the established connection
}

// startMonitor opens the established connection from ns to addr and
// starts the traffic. The caller must call finish.
func startMonitor(t *testing.T, ns, addr string) *monitor {
	t.Helper()
	// The rules may still be on their way: poll for the first connection.
	var conn net.Conn
	var r *bufio.Reader
	var first string
	ok, desc := eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		c, err := dialInNS(ns, addr, 3*time.Second)
		if err != nil {
			return false, err.Error()
		}
		cr := bufio.NewReader(c)
		if first, err = exchange(c, cr, "hello", 3*time.Second); err != nil {
			_ = c.Close()
			return false, err.Error()
		}
		conn, r = c, cr
		return true, ""
	})
	if !ok {
		t.Fatalf("establishing a connection to %s: %s", addr, desc)
	}
	m := &monitor{stop: make(chan struct{}), counts: map[string]int{}}
	m.wg.Go(func() {
		defer conn.Close()
		for i := 0; ; i++ {
			select {
			case <-m.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			server, err := exchange(conn, r, fmt.Sprintf("ping-%d", i), 3*time.Second)
			m.mu.Lock()
			switch {
			case err != nil:
				m.failures = append(m.failures, fmt.Sprintf("%s established connection: %v", time.Now().Format("15:04:05.000"), err))
			case server != first:
				m.failures = append(m.failures, fmt.Sprintf("established connection to %s moved to %s", first, server))
			default:
				m.kept++
			}
			m.mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	m.wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-m.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			server, err := func() (string, error) {
				c, err := dialInNS(ns, addr, newConnTimeout)
				if err != nil {
					return "", err
				}
				defer c.Close()
				return exchange(c, bufio.NewReader(c), fmt.Sprintf("new-%d", i), 3*time.Second)
			}()
			m.mu.Lock()
			if err != nil {
				m.newFailures = append(m.newFailures, fmt.Sprintf("%s new connection: %v", time.Now().Format("15:04:05.000"), err))
			} else {
				m.counts[server]++
			}
			m.mu.Unlock()
		}
	})
	return m
}

// served returns how many new connections backend has answered so far.
func (m *monitor) served(backend string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[backend]
}

// answered returns how many new connections were answered so far.
func (m *monitor) answered() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.counts {
		n += c
	}
	return n
}

// newFailuresTolerated is how many new connections may fail in a test:
// a dial that the loaded machine does not schedule within its budget is
// not the proxy's fault. Rules missing for a while fail every dial in that
// while, which the tests catch by counting answers instead.
const newFailuresTolerated = 2

// finish stops the traffic and fails the test on any failed exchange on
// the established connection, on more failed new connections than
// tolerated, or when the established connection saw too little traffic to
// mean anything.
func (m *monitor) finish(t *testing.T) {
	t.Helper()
	close(m.stop)
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.failures) > 0 {
		t.Errorf("the established connection failed %d times, first:\n%s", len(m.failures), strings.Join(m.failures[:min(len(m.failures), 10)], "\n"))
	}
	if len(m.newFailures) > newFailuresTolerated {
		t.Errorf("%d new connections failed, more than %d, first:\n%s", len(m.newFailures), newFailuresTolerated,
			strings.Join(m.newFailures[:min(len(m.newFailures), 10)], "\n"))
	}
	if m.kept < 10 {
		t.Errorf("established connection: %d exchanges, want at least 10", m.kept)
	}
}

// waitServed waits until m has seen a new connection answered by backend.
func waitServed(t *testing.T, m *monitor, backend string, budget time.Duration) {
	t.Helper()
	ok, _ := eventually(budget, 100*time.Millisecond, func() (bool, string) { return m.served(backend) > 0, "" })
	if !ok {
		m.mu.Lock()
		counts := fmt.Sprint(m.counts)
		m.mu.Unlock()
		t.Errorf("no new connection reached %s within %v; answers by backend: %s", backend, budget, counts)
	}
}

// TestIntegrationProxyRestart checks that restarting the proxy interrupts
// nothing: an established connection through a ClusterIP keeps its
// backend, new connections are answered while the proxy is down and while
// the new one takes over, and the new proxy programs what changed in
// between.
func TestIntegrationProxyRestart(t *testing.T) {
	c := newCluster(t, 2, 2)
	node1, node2 := c.topo.Nodes[0], c.topo.Nodes[1]
	startStream(t, c.topo.Pods()...)
	svc := newService("restart", vip(70), v1.ProtocolTCP, 80)
	c.create(svc, streamSlice(svc, node2.Pods...))
	c.settle()
	addr := hostPort(vip(70), 80)
	client := node1.Pods[0]
	m := startMonitor(t, client.NS, addr)
	defer m.finish(t)
	waitServed(t, m, node2.Pods[0].Name, 10*time.Second)

	// The client's node loses its proxy; a backend is added meanwhile.
	c.nodes[node1.Name].shutdown(t)
	c.updateSlice(streamSlice(svc, append([]*Pod{node1.Pods[1]}, node2.Pods...)...))
	// New connections keep being answered over the rules left in place:
	// a dial every 100 ms makes some 20 in this while, none if the rules
	// were gone.
	before := m.answered()
	time.Sleep(3 * time.Second)
	if n := m.answered() - before; n < 5 {
		t.Errorf("%d new connections answered in the 3 s the proxy was down, want 5 or more: were its rules removed?", n)
	}
	if n := m.served(node1.Pods[1].Name); n != 0 {
		t.Fatalf("%s answered %d new connections before any proxy knew it", node1.Pods[1].Name, n)
	}
	c.startProxy(node1)
	waitServed(t, m, node1.Pods[1].Name, 20*time.Second)
}

// outage makes the fake API server go away and come back: while it is
// down, every list and watch fails and the watches that were open end.
type outage struct {
	mu       sync.Mutex
	down     bool
	watches  []interface{ Stop() }
	attempts int // lists and watches refused while down
}

// install puts o's reactors in front of the fake clientset's own.
func (o *outage) install(client *fake.Clientset) {
	tracker := client.Tracker()
	client.PrependWatchReactor("*", func(action k8stesting.Action) (bool, watch.Interface, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.down {
			o.attempts++
			return true, nil, errors.New("connection refused (API server down)")
		}
		w, err := tracker.Watch(action.GetResource(), action.GetNamespace(), watchOptions(action))
		if err != nil {
			return true, nil, err
		}
		o.watches = append(o.watches, w)
		return true, w, nil
	})
	client.PrependReactor("list", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.down {
			o.attempts++
			return true, nil, errors.New("connection refused (API server down)")
		}
		return false, nil, nil
	})
}

// watchOptions returns the list options of a watch action.
func watchOptions(action k8stesting.Action) metav1.ListOptions {
	if wa, ok := action.(k8stesting.WatchActionImpl); ok {
		return wa.ListOptions
	}
	return metav1.ListOptions{}
}

// setDown takes the API server down (ending every open watch) or brings
// it back.
func (o *outage) setDown(down bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = down
	if down {
		for _, w := range o.watches {
			w.Stop()
		}
		o.watches = nil
		o.attempts = 0
	}
}

// refused returns how many lists and watches failed during the outage.
func (o *outage) refused() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.attempts
}

// TestIntegrationAPIOutageKeepsRules checks that an API server outage
// after a good sync keeps the last good rules in place: the informers
// lose their watches and fail to list again, the proxy keeps doing full
// syncs from what it knew, traffic keeps flowing, and once the API server
// is back a change is programmed again.
func TestIntegrationAPIOutageKeepsRules(t *testing.T) {
	o := &outage{}
	c := newCluster(t, 1, 2, withSyncPeriod(300*time.Millisecond), withClient(o.install))
	n := c.topo.Nodes[0]
	startStream(t, n.Pods...)
	svc := newService("outage", vip(71), v1.ProtocolTCP, 80)
	c.create(svc, streamSlice(svc, n.Pods...))
	c.settle()
	m := startMonitor(t, n.NS, hostPort(vip(71), 80))
	defer m.finish(t)
	for _, p := range n.Pods {
		waitServed(t, m, p.Name, 10*time.Second)
	}
	before := stripCounters(c.save(n, "nat", false))

	np := c.nodes[n.Name]
	gen := np.proxy.Generation()
	o.setDown(true)
	ok, _ := eventually(20*time.Second, 100*time.Millisecond, func() (bool, string) {
		return o.refused() > 0 && np.proxy.Generation() >= gen+3, ""
	})
	if !ok {
		t.Fatalf("during the outage: %d lists and watches refused, %d syncs; want some of both", o.refused(), np.proxy.Generation()-gen)
	}
	if after := stripCounters(c.save(n, "nat", false)); after != before {
		t.Errorf("nat table changed during the API server outage:\n%s\nwant:\n%s", after, before)
	}

	o.setDown(false)
	c.updateSlice(streamSlice(svc, n.Pods[1]))
	ok, desc := eventually(45*time.Second, 200*time.Millisecond, func() (bool, string) {
		save := c.save(n, "nat", false)
		return !strings.Contains(save, n.Pods[0].IP.String()+":"), save
	})
	if !ok {
		t.Errorf("after the API server came back, %s is still a DNAT target:\n%s", n.Pods[0].IP, desc)
	}
}

// stripCounters drops the counters and comment lines of iptables-save
// output, leaving the rules.
func stripCounters(save string) string {
	var lines []string
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, ":") {
			l = chainCounters.ReplaceAllString(l, "")
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}
