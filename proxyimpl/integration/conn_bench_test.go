package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// connServices is the number of Services of BenchmarkConnRate.
const connServices = 10000

// connCluster returns n ClusterIP TCP Services, each with one endpoint:
// the echo server pod srv.
func connCluster(n int, srv *Pod) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
	svcs, slices := benchCluster(scale{n, 1})
	for _, es := range slices {
		node := srv.Node.Name
		es.Endpoints[0].Addresses = []string{srv.IP.String()}
		es.Endpoints[0].NodeName = &node
		port := int32(echoPort)
		es.Ports[0].Port = &port
	}
	return svcs, slices
}

// connLayout is one rule set BenchmarkConnRate sends connections through.
type connLayout struct {
	name string
	// install programs the node's tables, which are empty.
	install func(ctx context.Context, ns string, backend iptables.Backend, snap *snapshot.Snapshot) error
}

// svccheckLayout installs svccheck's full sync of snap, rendered with cfg,
// and its hook rules.
func svccheckLayout(name string, cfg render.Config) connLayout {
	return connLayout{name: name, install: func(ctx context.Context, ns string, backend iptables.Backend, snap *snapshot.Snapshot) error {
		text, _ := render.WriteFull(render.Render(cfg, snap), nil)
		return restoreWait(ctx, ns, backend, append(text, hookText()...), true)
	}}
}

// hookText returns restore text appending render.Hooks to the built-in
// chains.
func hookText() []byte {
	var out bytes.Buffer
	for _, t := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
		out.WriteString("*" + string(t) + "\n")
		for _, h := range render.Hooks() {
			if h.Table != t {
				continue
			}
			out.WriteString("-A " + string(h.Chain))
			for _, a := range h.Args {
				if strings.Contains(a, " ") {
					a = `"` + a + `"`
				}
				out.WriteString(" " + a)
			}
			out.WriteString("\n")
		}
		out.WriteString("COMMIT\n")
	}
	return out.Bytes()
}

// kubeProxyLayout installs kubeProxyShape(snap).
var kubeProxyLayout = connLayout{name: "kube-proxy-shape", install: func(ctx context.Context, ns string, backend iptables.Backend, snap *snapshot.Snapshot) error {
	return restoreWait(ctx, ns, backend, kubeProxyShape(snap), true)
}}

// restoreWait runs iptables-restore of backend over data in ns, waiting up
// to a minute for the xtables lock (other tests on a busy machine hold
// it), with --noflush when noflush is set.
func restoreWait(ctx context.Context, ns string, backend iptables.Backend, data []byte, noflush bool) error {
	args := []string{"-w", "60"}
	if noflush {
		args = append(args, "--noflush")
	}
	cmd := iptables.NetNSCmder(ns).CommandContext(ctx, restoreTool(backend), args...)
	cmd.SetStdin(bytes.NewReader(data))
	var out bytes.Buffer
	cmd.SetStdout(&out)
	cmd.SetStderr(&out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", restoreTool(backend), err, out.String())
	}
	return nil
}

// resetTables empties the nat and filter tables of backend in ns.
func resetTables(ctx context.Context, ns string, backend iptables.Backend) error {
	return restoreWait(ctx, ns, backend, []byte("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"+
		"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"), false)
}

// BenchmarkConnRate measures new TCP connections per second (connect,
// read the echo server's answer, close) from a pod to the last-added of
// 10k ClusterIP Services, through a node whose nat table dispatches all
// of them: svccheck's dispatch tree, svccheck's flat layout
// (render.Config FlatDispatch) and kube-proxy's iptables rule shape, on
// both backends. Only the first packet of a connection walks the nat
// table, so the rate falls with the rules that packet walks.
func BenchmarkConnRate(b *testing.B) {
	requireNetNS(b, restoreTool(iptables.BackendLegacy), restoreTool(iptables.BackendNFT))
	ctx := context.Background()
	topo := newTopology(b, 1, 2)
	node, client, srv := topo.Nodes[0], topo.Nodes[0].Pods[0], topo.Nodes[0].Pods[1]
	e, err := topo.StartEcho(ctx, srv.NS, EchoSpec{Name: srv.Name, TCP: []int{echoPort}})
	if err != nil {
		b.Fatalf("starting echo server: %v", err)
	}
	b.Cleanup(func() { _ = e.Stop() })
	svcs, slices := connCluster(connServices, srv)
	snap, problems := snapshot.Build(snapshot.Config{
		NodeName: node.Name, ClusterCIDRs: []netip.Prefix{ClusterCIDR}, NodeIPs: []netip.Addr{node.IP},
	}, svcs, slices)
	if len(problems) > 0 {
		b.Fatalf("building snapshot: %v", problems)
	}
	last := svcs[len(svcs)-1]
	addr := net.JoinHostPort(last.Spec.ClusterIP, "80")
	layouts := []connLayout{svccheckLayout("svccheck-tree", render.Config{}), svccheckLayout("svccheck-flat", render.Config{FlatDispatch: true}), kubeProxyLayout}
	for _, backend := range backends {
		for _, l := range layouts {
			installed := false
			b.Run(fmt.Sprintf("%s/%s/services=%d", backend, l.name, connServices), func(b *testing.B) {
				if !installed {
					// The body runs once per b.N tried; install once.
					for _, bk := range backends {
						if err := resetTables(ctx, node.NS, bk); err != nil {
							b.Fatal(err)
						}
					}
					if err := l.install(ctx, node.NS, backend, snap); err != nil {
						b.Fatalf("installing %s: %v", l.name, err)
					}
					installed = true
					b.ResetTimer()
				}
				if err := DialLoop(client.NS, addr, srv.Name, b.N); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
			})
		}
	}
}
