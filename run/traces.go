package run

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/svccheck/svccheck/explain"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/diag"
)

// specNamespacePrefix starts the names of the namespaces specs make.
const specNamespacePrefix = "svcchk-"

// maxTracesPerSpec bounds the traces report.html shows for one failure.
const maxTracesPerSpec = 6

// failureTraces explains, for each failed spec of res, the first packet to
// each Service of the specs' namespaces that its failure-time nat tables
// hold, from a pod of that namespace on the dumped node (else from the node
// itself), as svccheck explain prints it. Keyed by the spec's slug. What
// cannot be explained says why, in place of the trace.
func failureTraces(dir string, res reports.Results) map[string]string {
	out := map[string]string{}
	for _, s := range res.Specs {
		if !s.Result.Failed() || len(s.Dumps) == 0 {
			continue
		}
		var buf bytes.Buffer
		n := 0
		for _, d := range s.Dumps {
			n += traceDump(&buf, dir, d, maxTracesPerSpec-n)
		}
		if buf.Len() > 0 {
			out[s.Slug()] = buf.String()
		}
	}
	return out
}

// traceDump writes at most limit traces for the failure dump d (relative
// to dir) and returns how many it wrote.
func traceDump(buf *bytes.Buffer, dir, d string, limit int) int {
	if limit <= 0 {
		return 0
	}
	parts := strings.Split(filepath.ToSlash(d), "/")
	if len(parts) < 2 {
		return 0
	}
	nodeName := parts[1]
	node, err := explain.ReadNode(nodeName, filepath.Join(dir, filepath.FromSlash(d)))
	if err != nil {
		fmt.Fprintf(buf, "%s: not explained: %v\n\n", d, err)
		return 1
	}
	tables, err := node.Tables()
	if err != nil {
		fmt.Fprintf(buf, "%s: not explained: %v\n\n", d, err)
		return 1
	}
	n := 0
	for _, t := range specTargets(tables) {
		if n == limit {
			break
		}
		src := traceSource(dir, t.namespace, node)
		ex, err := explain.Explain(node, src, t.target)
		fmt.Fprintf(buf, "%s to %s (%s) on %s:\n", src, t.service, t.target, nodeName)
		if err == nil {
			err = explain.WriteTree(buf, ex)
		}
		if err != nil {
			fmt.Fprintf(buf, "not explained: %v\n", err)
		}
		buf.WriteString("\n")
		n++
	}
	return n
}

// target is a spec Service's cluster IP port, as its dispatch rule says.
type target struct {
	namespace, service string
	target             explain.Target
}

// specTargets returns the cluster IP ports of the spec namespaces'
// Services in a nat table: the rules whose comment reads "<ns>/<svc>:<port>
// cluster IP", with their -d, -p and --dport.
func specTargets(d *ipsave.Dump) []target {
	var out []target
	seen := map[string]bool{}
	t := d.Table(ipsave.TableNAT)
	if t == nil {
		return nil
	}
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			svc, ok := strings.CutSuffix(ruleComment(r), " cluster IP")
			if !ok || !strings.HasPrefix(svc, specNamespacePrefix) || seen[svc] || r.Destination == nil || r.Destination.Negate {
				continue
			}
			tg, ok := ruleTarget(r)
			if !ok {
				continue
			}
			seen[svc] = true
			ns, _, _ := strings.Cut(svc, "/")
			out = append(out, target{namespace: ns, service: svc, target: tg})
		}
	}
	slices.SortFunc(out, func(a, b target) int { return strings.Compare(a.service, b.service) })
	return out
}

func ruleComment(r *ipsave.Rule) string {
	for _, m := range r.Matches {
		if c, ok := m.(*ipsave.CommentMatch); ok {
			return c.Comment
		}
	}
	return ""
}

// ruleTarget reads a dispatch rule's destination address, protocol and
// port from the parsed rule: -d, -p and its port match's single --dport.
func ruleTarget(r *ipsave.Rule) (explain.Target, bool) {
	pfx, err := netip.ParsePrefix(r.Destination.CIDR)
	if err != nil || pfx.Bits() != 32 || r.Protocol == nil || r.Protocol.Negate {
		return explain.Target{}, false
	}
	for _, m := range r.Matches {
		if pm, ok := m.(*ipsave.PortMatch); ok && pm.DestinationPort != nil &&
			!pm.DestinationPort.Negate && pm.DestinationPort.First == pm.DestinationPort.Last {
			return explain.Target{Addr: pfx.Addr(), Port: pm.DestinationPort.First, Protocol: r.Protocol.Value}, true
		}
	}
	return explain.Target{}, false
}

// traceSource is a running pod of namespace on node, from the run's dump of
// the namespace, clients first; else the node itself.
func traceSource(dir, namespace string, node *explain.Node) explain.Source {
	if pods, err := namespacePods(dir, namespace); err == nil {
		slices.SortStableFunc(pods, func(a, b corev1.Pod) int {
			return boolRank(!strings.Contains(a.Name, "client")) - boolRank(!strings.Contains(b.Name, "client"))
		})
		for _, p := range pods {
			if addr, on, err := explain.PodSource(&p); err == nil && on == node.Name {
				if a, err := netip.ParseAddr(addr); err == nil {
					return explain.Source{Kind: explain.FromPod, Name: p.Namespace + "/" + p.Name, Addr: a, Node: on}
				}
			}
		}
	}
	src := explain.Source{Kind: explain.FromNode, Name: node.Name, Node: node.Name}
	if len(node.Addrs) > 0 {
		src.Addr, _ = netip.ParseAddr(node.Addrs[0])
	}
	return src
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// namespacePods reads the pods of namespace from the run's cluster dump.
func namespacePods(dir, namespace string) ([]corev1.Pod, error) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(reports.ClusterDir(namespace)), diag.FilePods))
	if err != nil {
		return nil, err
	}
	var list corev1.PodList
	if err := yaml.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	if len(list.Items) == 0 {
		return nil, errors.New("no pods")
	}
	return list.Items, nil
}
