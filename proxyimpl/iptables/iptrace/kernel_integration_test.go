package iptrace

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/testenv"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// kernelRules is a small Service proxy ruleset over test addresses: VIP
// 198.18.100.10:53/udp and node port 30053 spread over three endpoints on
// the node's second link, the third of which the filter table drops.
// Node-port traffic, and cluster-IP traffic from outside 198.18.1.0/24,
// is masqueraded.
const kernelRules = `*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SVCCHK-SERVICES - [0:0]
:SVCCHK-SVC-T - [0:0]
:SVCCHK-EXT-T - [0:0]
:SVCCHK-POSTROUTING - [0:0]
-A PREROUTING -j SVCCHK-SERVICES
-A POSTROUTING -j SVCCHK-POSTROUTING
-A SVCCHK-SERVICES -d 198.18.100.10/32 -p udp -m udp --dport 53 -j SVCCHK-SVC-T
-A SVCCHK-SERVICES -m addrtype --dst-type LOCAL -p udp -m udp --dport 30053 -j SVCCHK-EXT-T
-A SVCCHK-EXT-T -j MARK --or-mark 0x4000
-A SVCCHK-EXT-T -j SVCCHK-SVC-T
-A SVCCHK-SVC-T ! -s 198.18.1.0/24 -j MARK --or-mark 0x4000
-A SVCCHK-SVC-T -m statistic --mode random --probability 0.33333333349 -p udp -j DNAT --to-destination 198.18.2.5:5353
-A SVCCHK-SVC-T -m statistic --mode random --probability 0.50000000000 -p udp -j DNAT --to-destination 198.18.2.6:5353
-A SVCCHK-SVC-T -p udp -j DNAT --to-destination 198.18.2.7:5353
-A SVCCHK-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A SVCCHK-POSTROUTING -j MARK --xor-mark 0x4000
-A SVCCHK-POSTROUTING -j MASQUERADE --random-fully
COMMIT
*filter
:FORWARD ACCEPT [0:0]
-A FORWARD -d 198.18.2.7/32 -p udp -j DROP
COMMIT
`

// TestIntegrationTracerMatchesKernel sends real UDP packets from a client
// namespace through a node namespace holding kernelRules, reads the
// node's conntrack table, and checks the kernel's endpoints and
// masquerading are exactly what the tracer predicts.
func TestIntegrationTracerMatchesKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test skipped under -short")
	}
	testenv.NeedRootAndTools(t, "network namespaces, iptables, conntrack", "ip", "bash", "conntrack", "iptables-nft-restore")
	ctx := context.Background()
	node, client := setUpNamespaces(t)
	r := iptables.New(iptables.NetNSCmder(node), iptables.BackendNFT)
	if err := r.Restore(ctx, []byte(kernelRules)); err != nil {
		t.Fatal(err)
	}
	d, err := ipsave.Parse([]byte(kernelRules))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(d, "198.18.1.1", "198.18.2.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, dst := range []struct {
		ip   string
		port uint16
	}{{"198.18.100.10", 53}, {"198.18.1.1", 30053}} {
		t.Run(fmt.Sprintf("%s:%d", dst.ip, dst.port), func(t *testing.T) {
			res, err := tr.Trace(Packet{Source: "198.18.1.2", Protocol: "udp", Destination: dst.ip, DestinationPort: dst.port})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range res.Paths {
				if p.Verdict == VerdictAccept {
					want = append(want, fmt.Sprintf("%s masquerade=%v", p.Destination, p.Masquerade))
				}
			}
			slices.Sort(want)
			got := kernelOutcomes(t, node, client, dst.ip, dst.port)
			t.Logf("kernel outcomes: %q", got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("kernel vs tracer (-tracer +kernel):\n%s\n%s", diff, res)
			}
		})
	}
}

// setUpNamespaces builds client (198.18.1.2) -- veth -- node (198.18.1.1,
// forwarding, a veth link 198.18.2.1/24 towards the endpoints, which
// need not answer: conntrack records the first datagram regardless).
func setUpNamespaces(t *testing.T) (node, client string) {
	t.Helper()
	id := os.Getpid()
	node, client = fmt.Sprintf("svcchk-trn-%d", id), fmt.Sprintf("svcchk-trc-%d", id)
	cmds := [][]string{
		{"ip", "netns", "add", node},
		{"ip", "netns", "add", client},
		{"ip", "-n", node, "link", "add", "n0", "type", "veth", "peer", "name", "c0", "netns", client},
		{"ip", "-n", node, "addr", "add", "198.18.1.1/24", "dev", "n0"},
		{"ip", "-n", node, "link", "set", "n0", "up"},
		{"ip", "-n", node, "link", "add", "d0", "type", "veth", "peer", "name", "d1"},
		{"ip", "-n", node, "addr", "add", "198.18.2.1/24", "dev", "d0"},
		{"ip", "-n", node, "link", "set", "d0", "up"},
		{"ip", "-n", node, "link", "set", "d1", "up"},
		{"ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"ip", "-n", client, "addr", "add", "198.18.1.2/24", "dev", "c0"},
		{"ip", "-n", client, "link", "set", "c0", "up"},
		{"ip", "-n", client, "route", "add", "default", "via", "198.18.1.1"},
	}
	local := &exec.LocalCmder{}
	t.Cleanup(func() {
		for _, ns := range []string{client, node} {
			if err := local.Command("ip", "netns", "del", ns).Run(); err != nil {
				t.Errorf("deleting namespace %s: %v", ns, err)
			}
		}
	})
	for _, c := range cmds {
		if out, err := exec.CombinedOutputLines(local.Command(c[0], c[1:]...)); err != nil {
			t.Fatalf("setting up namespaces: %v: %v", err, out)
		}
	}
	return node, client
}

// replyTuple picks the reply direction's source and destination out of a
// conntrack -L line.
var replyTuple = regexp.MustCompile(`src=\S+ dst=\S+ sport=\d+ dport=\d+ .*?src=(\S+) dst=(\S+) sport=(\d+)`)

// kernelOutcomes sends 60 datagrams from fresh source ports and returns
// the distinct "endpoint masquerade=bool" outcomes in the node's
// conntrack table.
func kernelOutcomes(t *testing.T, node, client, ip string, port uint16) []string {
	t.Helper()
	local := &exec.LocalCmder{}
	if err := local.Command("ip", "netns", "exec", node, "conntrack", "-F").Run(); err != nil {
		t.Fatalf("flushing conntrack: %v", err)
	}
	script := fmt.Sprintf("for i in $(seq 60); do echo x > /dev/udp/%s/%d; done", ip, port)
	if out, err := exec.CombinedOutputLines(local.Command("ip", "netns", "exec", client, "bash", "-c", script)); err != nil {
		t.Fatalf("sending datagrams: %v: %v", err, out)
	}
	var out bytes.Buffer
	cmd := local.Command("ip", "netns", "exec", node, "conntrack", "-L", "-p", "udp")
	cmd.SetStdout(&out)
	if err := cmd.Run(); err != nil {
		t.Fatalf("listing conntrack: %v", err)
	}
	var got []string
	n := 0
	for _, m := range replyTuple.FindAllStringSubmatch(out.String(), -1) {
		n++
		o := fmt.Sprintf("%s:%s masquerade=%v", m[1], m[3], m[2] != "198.18.1.2")
		if !slices.Contains(got, o) {
			got = append(got, o)
		}
	}
	if n < 20 {
		t.Fatalf("only %d conntrack entries for 60 datagrams:\n%s", n, out.String())
	}
	slices.Sort(got)
	return got
}
