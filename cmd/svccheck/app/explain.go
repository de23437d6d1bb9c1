package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/explain"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
)

// explainOptions are the flags of `svccheck explain`.
type explainOptions struct {
	to         string
	from       string
	fromArg    string
	node       string
	name       string
	kubeconfig string
	dump       string
	json       bool
	live       bool
	timeout    time.Duration
}

func newExplainCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain --to IP:PORT[/tcp|udp|sctp] --from (pod NS/NAME | node NAME | external IP) (--name CLUSTER | --kubeconfig PATH | --dump DIR)",
		Short: "Explain the path a connection's first packet takes through a node's nat and filter tables",
		Long: `explain traces the first packet of a connection through the nat and filter
tables of the node it enters (svccheck's SVCCHK- chains and kube-proxy's
iptables-mode KUBE- chains, from either iptables backend) and prints every
rule it passes with its line in the dump, the Service port each rule's
comment names, every statistic branch with its probability, session
affinity checks, the DNAT target, masquerading and the verdict, as a tree
that forks where a new connection may take different branches.

The source is a pod (its node and address are read from the API, or from
the dump's cluster objects), a node (a process in the node's own network
namespace) or an external address (with --node: the node it reaches).
--dump reads the output directory of 'svccheck run' or 'svccheck dump';
--name (a kind cluster) and --kubeconfig (any cluster, through host pods)
take a fresh dump first. --json prints the explanation for tools.

--live also asks the kernel: on the node, it adds a trace rule for exactly
one probe's flow (its source port is unique: an iptables raw-table TRACE
rule read with xtables-monitor --trace, or, when the node has native
nftables tables such as kube-proxy's nftables mode, a table of its own
setting meta nftrace read with nft monitor trace), sends that probe from
the source (inside the pod, whose image must hold the svccheck binary; from
the node; or from svccheck's client container outside a kind cluster),
reads the kernel's path of its first packet, removes the rule again
whatever happens, and prints the kernel's path after the computed one,
with where they differ. kube-proxy's nftables mode, which has no iptables
rules to compute from, is explained from the kernel's path alone.`,
		Example: `  svccheck explain --to 10.96.0.10:53/udp --from pod default/client --name svccheck
  svccheck explain --to 172.18.0.3:30080 --from external 172.18.0.1 --node svccheck-worker --dump ./svccheck-results/latest
  svccheck explain --to 10.96.12.7:80 --from node svccheck-worker --dump ./dump --json
  svccheck explain --to 10.96.0.10:53 --from node svccheck-worker --name svccheck --live`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.fromArg = args[0]
			}
			return runExplain(cmd.Context(), cmd, o, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.to, "to", "", "destination IP:PORT[/tcp|udp|sctp] (tcp by default)")
	fl.StringVar(&o.from, "from", "", "source: pod NS/NAME, node NAME or external IP (the second word may follow as an argument)")
	fl.StringVar(&o.node, "node", "", "node whose tables the packet walks (required for --from external; defaults to the pod's or the node itself)")
	fl.StringVar(&o.name, "name", "", "kind cluster to take a fresh dump of")
	fl.StringVar(&o.kubeconfig, "kubeconfig", "", "cluster (any) to take a fresh dump of, through host pods")
	fl.StringVar(&o.dump, "dump", "", "output directory of 'svccheck run' or 'svccheck dump' to read")
	fl.BoolVar(&o.json, "json", false, "print JSON instead of a tree")
	fl.BoolVar(&o.live, "live", false, "also trace one real probe in the node's kernel (xtables-monitor --trace or nft monitor trace) and show its path beside the computed one")
	fl.DurationVar(&o.timeout, "timeout", diag.DefaultCommandTimeout, "time limit of each command on a node and each API read")
	return cmd
}

// parseFrom splits --from into its kind and its name.
func (o *explainOptions) parseFrom() (explain.SourceKind, string, error) {
	kind, name, ok := strings.Cut(strings.TrimSpace(o.from), " ")
	if !ok {
		name = o.fromArg
	} else if o.fromArg != "" {
		return "", "", usageError("--from %q and the argument %q: give the source once", o.from, o.fromArg)
	}
	name = strings.TrimSpace(name)
	k := explain.SourceKind(kind)
	switch k {
	case explain.FromPod, explain.FromNode, explain.FromExternal:
	default:
		return "", "", usageError("--from must be 'pod NS/NAME', 'node NAME' or 'external IP', got %q", strings.TrimSpace(o.from+" "+o.fromArg))
	}
	if name == "" {
		return "", "", usageError("--from %s wants a name after it", kind)
	}
	return k, name, nil
}

func (o *explainOptions) validate() (explain.Target, explain.SourceKind, string, error) {
	if o.to == "" {
		return explain.Target{}, "", "", usageError("--to IP:PORT[/proto] is required")
	}
	dst, err := explain.ParseTarget(o.to)
	if err != nil {
		return explain.Target{}, "", "", usageError("%v", err)
	}
	kind, name, err := o.parseFrom()
	if err != nil {
		return explain.Target{}, "", "", err
	}
	n := 0
	for _, s := range []string{o.name, o.kubeconfig, o.dump} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return explain.Target{}, "", "", usageError("give exactly one of --name CLUSTER, --kubeconfig PATH and --dump DIR")
	}
	if o.live && o.dump != "" {
		return explain.Target{}, "", "", usageError("--live probes a running cluster: give --name or --kubeconfig, not --dump")
	}
	if kind == explain.FromExternal && o.node == "" {
		return explain.Target{}, "", "", usageError("--from external wants --node: the node the packet reaches")
	}
	if kind == explain.FromPod && !strings.Contains(name, "/") {
		return explain.Target{}, "", "", usageError("--from pod wants NAMESPACE/NAME, got %q", name)
	}
	return dst, kind, name, nil
}

func runExplain(ctx context.Context, cmd *cobra.Command, o *explainOptions, stdout, stderr io.Writer) error {
	dst, kind, name, err := o.validate()
	if err != nil {
		return err
	}
	dir := explain.DumpDir(o.dump)
	if o.dump == "" {
		tmp, err := os.MkdirTemp("", "svccheck-explain-")
		if err != nil {
			return fmt.Errorf("making a directory for the dump: %w", err)
		}
		defer os.RemoveAll(tmp)
		if err := freshDump(ctx, o, kind, name, tmp, stderr); err != nil {
			return err
		}
		dir = explain.DumpDir(tmp)
	} else if _, err := os.Stat(o.dump); err != nil {
		return usageError("--dump %s: %v", o.dump, err)
	}
	src, err := resolveSource(dir, kind, name, o.node)
	if err != nil {
		return err
	}
	node, err := dir.Node(src.Node)
	if err != nil {
		return usageError("%v", err)
	}
	if kind == explain.FromNode {
		if len(node.Addrs) == 0 {
			return usageError("node %s: no address found in its dump", src.Node)
		}
		src.Addr = netip.MustParseAddr(node.Addrs[0])
	}
	ex, err := explain.Explain(node, src, dst)
	if err != nil {
		return err
	}
	if o.live {
		k, err := liveTrace(ctx, o, src, dst, stderr)
		if err != nil {
			return err
		}
		explain.ApplyKernel(ex, k)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ex)
	}
	return explain.WriteTree(stdout, ex)
}

// resolveSource turns --from into an address and the node whose tables
// the packet walks.
func resolveSource(dir explain.DumpDir, kind explain.SourceKind, name, node string) (explain.Source, error) {
	src := explain.Source{Kind: kind, Name: name, Node: node}
	switch kind {
	case explain.FromPod:
		ns, pod, _ := strings.Cut(name, "/")
		addr, podNode, err := dir.Pod(ns, pod)
		if err != nil {
			return src, usageError("%v", err)
		}
		src.Addr = netip.MustParseAddr(addr)
		if node != "" && node != podNode {
			return src, usageError("pod %s runs on node %s, not %s: its first packet walks its own node's tables", name, podNode, node)
		}
		src.Node = podNode
	case explain.FromNode:
		if node != "" && node != name {
			return src, usageError("--from node %s and --node %s differ", name, node)
		}
		src.Node = name
	case explain.FromExternal:
		a, err := netip.ParseAddr(name)
		if err != nil || !a.Unmap().Is4() {
			return src, usageError("--from external wants an IPv4 address, got %q", name)
		}
		src.Addr = a.Unmap()
	}
	return src, nil
}

// freshDump dumps the cluster into dir with `svccheck dump`'s code: every
// node, and the pod's namespace when the source is a pod.
func freshDump(ctx context.Context, o *explainOptions, kind explain.SourceKind, name, dir string, stderr io.Writer) error {
	d := &dumpOptions{name: o.name, kubeconfig: o.kubeconfig, output: dir, namespaces: []string{"kube-system"},
		timeout: o.timeout, parallel: diag.DefaultParallelism, hostPodWait: 2 * time.Minute, hostPodLife: diag.DefaultHostPodLifetime}
	if kind == explain.FromPod {
		ns, _, _ := strings.Cut(name, "/")
		if ns != "kube-system" {
			d.namespaces = append(d.namespaces, ns)
		}
	}
	if o.kubeconfig != "" {
		return dumpWithHostPods(ctx, d, stderr)
	}
	if d.name == "" {
		d.name = cluster.DefaultName
	}
	node, err := sourceNode(ctx, d.name, kind, name, o.node)
	if err != nil {
		return err
	}
	d.onlyNode = node
	return dumpKind(ctx, d, stderr)
}

// sourceNode returns the node whose tables a kind cluster's dump needs:
// --node, the --from node, or the pod's node read from the API.
func sourceNode(ctx context.Context, clusterName string, kind explain.SourceKind, name, node string) (string, error) {
	switch {
	case node != "":
		return node, nil
	case kind == explain.FromNode:
		return name, nil
	}
	c, err := cluster.Get(ctx, clusterName)
	if err != nil {
		return "", usageError("cluster %s: %v", clusterName, err)
	}
	ns, pod, _ := strings.Cut(name, "/")
	p, err := c.Clientset.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return "", usageError("pod %s: %v", name, err)
	}
	_, podNode, err := explain.PodSource(p)
	if err != nil {
		return "", usageError("%v", err)
	}
	return podNode, nil
}
