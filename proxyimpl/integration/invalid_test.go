package integration

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/internal/rawtcp"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// invalidPort is the backend port of TestIntegrationInvalidDropped, served
// by the test process itself so that the connection stays open.
const invalidPort = 9000

// TestIntegrationInvalidDropped checks, with real packets, the drop of
// conntrack-INVALID packets in forwarding (kubernetes issue 74839): a pod
// holds a TCP connection through a ClusterIP to a backend pod; the backend
// side then injects a segment of that connection whose sequence number is
// 2^30 beyond the window (not behind it: kernel 6.18 lets a segment behind
// the window through, translated, rather than marking it INVALID). On the
// node (nf_conntrack_tcp_be_liberal 0) conntrack finds it INVALID, so nat does not reverse the DNAT: without
// the drop it reaches the client from the backend's own address, the
// client answers with a RST to that address and the backend resets the
// connection. With the drop, nothing reaches the client, the drop rule
// counts the segment and the connection keeps working.
func TestIntegrationInvalidDropped(t *testing.T) {
	c := newCluster(t, 1, 2)
	node := c.topo.Nodes[0]
	client, backend := node.Pods[0], node.Pods[1]
	svcIP := vip(95)
	svc := newService("invalid", svcIP, v1.ProtocolTCP, 80)
	svc, slice := withTargetPort(svc, newSlice(svc, backend), invalidPort)
	accepted := acceptOne(t, backend.NS, hostPort(backend.IP, invalidPort))
	c.create(svc, slice)
	c.settle()
	setBeLiberal(t, c.topo, node.NS)

	capture := openCapture(t, client.NS)
	conn := dialWhenProgrammed(t, client.NS, hostPort(svcIP, 80))
	server := <-accepted
	t.Cleanup(func() { _ = server.Close() })
	go func() { _, _ = io.Copy(server, server) }()
	cport := uint16(conn.LocalAddr().(*net.TCPAddr).Port)
	synAck, ok := find(t, capture, 5*time.Second, func(s rawtcp.Segment) bool {
		return s.Src == svcIP && s.SrcPort == 80 && s.DstPort == cport && s.Flags&(rawtcp.SYN|rawtcp.ACK) == rawtcp.SYN|rawtcp.ACK
	})
	if !ok {
		t.Fatalf("the client's capture saw no SYN-ACK from %s:80", svcIP)
	}
	marker := []byte("svccheck out-of-window segment")
	bad := rawtcp.Segment{
		Src: backend.IP, Dst: client.IP, SrcPort: invalidPort, DstPort: cport,
		Seq: synAck.Seq + 1 + 1<<30, Ack: synAck.Ack, Flags: rawtcp.PSH | rawtcp.ACK,
		Window: 502, Payload: marker,
	}
	inject(t, backend.NS, bad)
	if got, arrived := find(t, capture, 2*time.Second, func(s rawtcp.Segment) bool {
		return bytes.Equal(s.Payload, marker)
	}); arrived {
		t.Errorf("the out-of-window segment reached the client as %v (sent %v)", got, bad)
	}
	if n := invalidDrops(t, c, node); n < 1 {
		t.Errorf("the node's INVALID drop rule counted %d packets, want the injected segment", n)
	}
	expectEcho(t, conn)
}

// acceptOne listens on addr inside namespace ns and hands over the first
// connection accepted; the listener closes at test end.
func acceptOne(t *testing.T, ns, addr string) <-chan net.Conn {
	t.Helper()
	l, err := ListenInNS(context.Background(), ns, "tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := l.Accept()
		if err == nil {
			accepted <- conn
		}
	}()
	return accepted
}

// dialWhenProgrammed connects to addr from inside namespace ns, retrying
// while the Service's rules are not in place yet (settle does not promise
// they are); the connection closes at test end.
func dialWhenProgrammed(t *testing.T, ns, addr string) net.Conn {
	t.Helper()
	var conn net.Conn
	ok, desc := eventually(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		var err error
		conn, err = dialInNS(ns, addr, 2*time.Second)
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if !ok {
		t.Fatalf("no connection to %s: %s", addr, desc)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// setBeLiberal sets nf_conntrack_tcp_be_liberal to 0 inside namespace ns
// (a per-namespace setting) and checks that it took.
func setBeLiberal(t *testing.T, topo *Topology, ns string) {
	t.Helper()
	const key = "net.netfilter.nf_conntrack_tcp_be_liberal"
	ctx := context.Background()
	if err := topo.sysctl(ctx, ns, key+"=0"); err != nil {
		t.Fatal(err)
	}
	out, err := topo.Exec(ctx, ns, "sysctl", "-n", key)
	if err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Fatalf("%s in %s = %q (%v), want 0", key, ns, out, err)
	}
}

// invalidDrops returns the packet counter of the INVALID drop rule in node
// n's filter table, 0 when there is no such rule.
func invalidDrops(t *testing.T, c *cluster, n *Node) int {
	t.Helper()
	for _, line := range strings.Split(c.save(n, iptables.TableFilter, true), "\n") {
		counters, rule, ok := strings.Cut(line, " ")
		if !ok || !strings.Contains(rule, "--ctstate INVALID -j DROP") {
			continue
		}
		pkts, _, _ := strings.Cut(strings.Trim(counters, "[]"), ":")
		v, err := strconv.Atoi(pkts)
		if err != nil {
			t.Fatalf("reading the counters of %q: %v", line, err)
		}
		return v
	}
	return 0
}

// expectEcho checks that conn still carries data both ways: the backend
// echoes what the client writes.
func expectEcho(t *testing.T, conn net.Conn) {
	t.Helper()
	if err := conn.SetDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	want := []byte("still there?\n")
	got := make([]byte, len(want))
	if _, err := conn.Write(want); err != nil {
		t.Errorf("the connection no longer carries data: writing: %v", err)
		return
	}
	if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the connection no longer carries data: read %q, %v; want the echo %q", got, err, want)
	}
}
