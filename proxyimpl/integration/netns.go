package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"
)

// Address plan of a topology. Every address lives only inside namespaces
// the harness creates.
var (
	// NodeNetwork is the shared "node network" the nodes and the outside
	// client sit on.
	NodeNetwork = netip.MustParsePrefix("10.210.0.0/24")
	// ServiceCIDR is where tests put ClusterIPs.
	ServiceCIDR = netip.MustParsePrefix("10.211.0.0/16")
	// ClusterCIDR covers every node's pod CIDR.
	ClusterCIDR = netip.MustParsePrefix("10.212.0.0/16")
	// gatewayIP is the bridge's own address, the nodes' default gateway.
	gatewayIP = netip.MustParseAddr("10.210.0.1")
	// clientIP is the outside client's address on the node network.
	clientIP = netip.MustParseAddr("10.210.0.100")
)

// Config shapes a topology.
type Config struct {
	// Prefix starts every namespace name, e.g. "svcchk-1234-".
	Prefix string
	// Nodes is the number of nodes (at most 9).
	Nodes int
	// PodsPerNode is the number of pods behind each node (at most 200).
	PodsPerNode int
	// Exe is the test binary that StartEcho and Probe re-execute inside a
	// namespace; it must call RunChild when EnvChild is set.
	Exe string
}

// Node is a "node": a network namespace on the node network, routing for
// its pods.
type Node struct {
	// Name is the node's Kubernetes name, e.g. "node1".
	Name string
	// NS is the node's network namespace.
	NS string
	// IP is the node's address on the node network.
	IP netip.Addr
	// PodCIDR holds the addresses of the node's pods.
	PodCIDR netip.Prefix
	// Pods are the pods behind the node.
	Pods []*Pod
}

// Pod is a "pod": a network namespace behind a node, reached over a veth.
type Pod struct {
	// Name is the pod's name, e.g. "node1-pod2".
	Name string
	// NS is the pod's network namespace.
	NS string
	// IP is the pod's address.
	IP netip.Addr
	// Node is the node the pod sits behind.
	Node *Node
}

// Topology is a set of network namespaces: a bridge namespace carrying the
// node network, the nodes, their pods and an outside client.
type Topology struct {
	cmder exec.Cmder
	exe   string
	// Bridge is the namespace holding the node network's bridge.
	Bridge string
	// Client is the outside client's namespace, on the node network.
	Client string
	// ClientIP is the outside client's address.
	ClientIP netip.Addr
	// Nodes are the nodes, in order.
	Nodes []*Node
	// created lists every namespace made so far, for Delete.
	created []string
}

// Build creates the topology cfg describes. On error, whatever was created
// is deleted again.
func Build(ctx context.Context, cmder exec.Cmder, cfg Config) (*Topology, error) {
	if cfg.Nodes < 1 || cfg.Nodes > 9 || cfg.PodsPerNode < 0 || cfg.PodsPerNode > 200 {
		return nil, fmt.Errorf("building topology: unsupported size %d nodes x %d pods", cfg.Nodes, cfg.PodsPerNode)
	}
	t := &Topology{
		cmder:    cmder,
		exe:      cfg.Exe,
		Bridge:   cfg.Prefix + "lan",
		Client:   cfg.Prefix + "client",
		ClientIP: clientIP,
	}
	for i := 1; i <= cfg.Nodes; i++ {
		n := &Node{
			Name:    fmt.Sprintf("node%d", i),
			NS:      fmt.Sprintf("%snode%d", cfg.Prefix, i),
			IP:      netip.AddrFrom4([4]byte{10, 210, 0, byte(10 + i)}),
			PodCIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 212, byte(i), 0}), 24),
		}
		for j := 1; j <= cfg.PodsPerNode; j++ {
			n.Pods = append(n.Pods, &Pod{
				Name: fmt.Sprintf("%s-pod%d", n.Name, j),
				NS:   fmt.Sprintf("%snode%d-pod%d", cfg.Prefix, i, j),
				IP:   netip.AddrFrom4([4]byte{10, 212, byte(i), byte(1 + j)}),
				Node: n,
			})
		}
		t.Nodes = append(t.Nodes, n)
	}
	if err := t.build(ctx); err != nil {
		return nil, errors.Join(err, t.Delete(context.WithoutCancel(ctx)))
	}
	return t, nil
}

// build does Build's work; t.created says what to undo.
func (t *Topology) build(ctx context.Context) error {
	if err := t.addNS(ctx, t.Bridge); err != nil {
		return err
	}
	if err := t.ipBatch(ctx, t.Bridge,
		"link add br0 type bridge",
		"link set br0 up",
		"addr add "+gatewayIP.String()+"/24 dev br0",
	); err != nil {
		return err
	}
	if err := t.addLANHost(ctx, t.Client, "lanclient", t.ClientIP); err != nil {
		return err
	}
	if err := t.ipBatch(ctx, t.Bridge, "link set lanclient master br0", "link set lanclient up"); err != nil {
		return err
	}
	for _, n := range t.Nodes {
		if err := t.buildNode(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// addLANHost creates namespace ns with eth0 on the node network at ip,
// plugged into the bridge as port.
func (t *Topology) addLANHost(ctx context.Context, ns, port string, ip netip.Addr) error {
	if err := t.addNS(ctx, ns); err != nil {
		return err
	}
	return t.ipBatch(ctx, ns,
		"link add eth0 type veth peer name "+port+" netns "+t.Bridge,
		"addr add "+ip.String()+"/24 dev eth0",
		"link set eth0 up",
		"route add default via "+gatewayIP.String(),
	)
}

// buildNode creates node n, its pods and its routes.
func (t *Topology) buildNode(ctx context.Context, n *Node) error {
	if err := t.addLANHost(ctx, n.NS, "lan"+n.Name, n.IP); err != nil {
		return err
	}
	if err := t.ipBatch(ctx, t.Bridge, "link set lan"+n.Name+" master br0", "link set lan"+n.Name+" up"); err != nil {
		return err
	}
	if err := t.sysctl(ctx, n.NS, "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"); err != nil {
		return err
	}
	gw := n.PodCIDR.Addr().Next()
	var nodeCmds []string
	for _, other := range t.Nodes {
		if other != n {
			nodeCmds = append(nodeCmds, "route add "+other.PodCIDR.String()+" via "+other.IP.String())
		}
	}
	for i, p := range n.Pods {
		if err := t.addNS(ctx, p.NS); err != nil {
			return err
		}
		hostIf := fmt.Sprintf("veth%d", i+1)
		if err := t.ipBatch(ctx, p.NS,
			"link add eth0 type veth peer name "+hostIf+" netns "+n.NS,
			"addr add "+p.IP.String()+"/32 dev eth0",
			"link set eth0 up",
			"route add "+gw.String()+" dev eth0 scope link",
			"route add default via "+gw.String()+" dev eth0",
		); err != nil {
			return err
		}
		nodeCmds = append(nodeCmds,
			"addr add "+gw.String()+"/32 dev "+hostIf,
			"link set "+hostIf+" up",
			"route add "+p.IP.String()+"/32 dev "+hostIf,
		)
	}
	return t.ipBatch(ctx, n.NS, nodeCmds...)
}

// addNS creates namespace ns with its loopback up, and records it.
func (t *Topology) addNS(ctx context.Context, ns string) error {
	if _, err := t.run(ctx, "ip", "netns", "add", ns); err != nil {
		return err
	}
	t.created = append(t.created, ns)
	return t.ipBatch(ctx, ns, "link set lo up")
}

// ipBatch runs "ip -n ns -batch -" over cmds.
func (t *Topology) ipBatch(ctx context.Context, ns string, cmds ...string) error {
	if len(cmds) == 0 {
		return nil
	}
	cmd := t.cmder.CommandContext(ctx, "ip", "-n", ns, "-batch", "-")
	cmd.SetStdin(strings.NewReader(strings.Join(cmds, "\n") + "\n"))
	var out bytes.Buffer
	cmd.SetStdout(&out)
	cmd.SetStderr(&out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("configuring namespace %s (%s): %w: %s", ns, strings.Join(cmds, "; "), err, out.String())
	}
	return nil
}

// sysctl sets kernel parameters inside namespace ns.
func (t *Topology) sysctl(ctx context.Context, ns string, settings ...string) error {
	_, err := t.Exec(ctx, ns, "sysctl", append([]string{"-qw"}, settings...)...)
	return err
}

// Exec runs name with args inside namespace ns and returns its standard
// output; a failure carries the command line and its output.
func (t *Topology) Exec(ctx context.Context, ns, name string, args ...string) ([]byte, error) {
	return t.run(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// run runs a command and returns its standard output.
func (t *Topology) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := t.cmder.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("running %s: %w: %s", exec.PrettyCommand(name, args...), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Cmder returns a Cmder whose commands run inside namespace ns.
func (t *Topology) Cmder(ns string) exec.Cmder {
	return &nsCmder{parent: t.cmder, ns: ns}
}

// Delete deletes every namespace of the topology (processes still inside
// them keep their namespace alive until they exit).
func (t *Topology) Delete(ctx context.Context) error {
	var errs []error
	for i := len(t.created) - 1; i >= 0; i-- {
		if _, err := t.run(ctx, "ip", "netns", "delete", t.created[i]); err != nil {
			errs = append(errs, err)
		}
	}
	t.created = nil
	return errors.Join(errs...)
}

// Pods returns every pod of every node.
func (t *Topology) Pods() []*Pod {
	var pods []*Pod
	for _, n := range t.Nodes {
		pods = append(pods, n.Pods...)
	}
	return pods
}

// nsCmder prefixes commands with "ip netns exec NS".
type nsCmder struct {
	parent exec.Cmder
	ns     string
}

var _ exec.Cmder = (*nsCmder)(nil)

// Command implements exec.Cmder.
func (c *nsCmder) Command(name string, args ...string) exec.Cmd {
	return c.parent.Command("ip", append([]string{"netns", "exec", c.ns, name}, args...)...)
}

// CommandContext implements exec.Cmder.
func (c *nsCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	return c.parent.CommandContext(ctx, "ip", append([]string{"netns", "exec", c.ns, name}, args...)...)
}
