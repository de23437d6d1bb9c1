package diag

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cniConfigScript prints every CNI configuration file with a header line.
const cniConfigScript = `for f in /etc/cni/net.d/*; do [ -f "$f" ] || continue; echo "# file $f"; cat "$f"; echo; done`

// healthCheckScript probes, from the node, the health check node port of
// each Service given as "ns/name port" argument pairs after the node's
// address, one line each: "ns/name port <body> HTTP=<code>" (the body on
// one line; code 000 when nothing answered).
const healthCheckScript = `ip=$1; shift
while [ $# -gt 1 ]; do
  printf '%s %s %s\n' "$1" "$2" "$(curl -s --max-time 2 -w ' HTTP=%{http_code}' "http://$ip:$2/healthz" | tr -d '\n')"
  shift 2
done`

// healthCheckCommand returns the command probing, from node on the node's
// internal address, the health check node port of every
// externalTrafficPolicy Local Service, and the file's record to fill with
// its outcome (its header, or why there is no command). Both are nil
// without a Kubernetes client; the command is nil when there is nothing
// to run.
func (c *Collector) healthCheckCommand(ctx context.Context, node Node) ([]string, *record) {
	if c.Clientset == nil {
		return nil, nil
	}
	rec := &record{name: FileHealthChecks}
	actx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	n, err := c.Clientset.CoreV1().Nodes().Get(actx, node.Name, metav1.GetOptions{})
	if err != nil {
		rec.err = fmt.Errorf("reading node %s: %w", node.Name, err)
		return nil, rec
	}
	ip := nodeInternalIP(n)
	if ip == "" {
		rec.err = fmt.Errorf("node %s has no InternalIP", node.Name)
		return nil, rec
	}
	svcs, err := c.Clientset.CoreV1().Services("").List(actx, metav1.ListOptions{})
	if err != nil {
		rec.err = fmt.Errorf("listing Services: %w", err)
		return nil, rec
	}
	var names []string
	for _, s := range svcs.Items {
		if s.Spec.HealthCheckNodePort != 0 {
			names = append(names, s.Namespace+"/"+s.Name+" "+strconv.Itoa(int(s.Spec.HealthCheckNodePort)))
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		rec.header = []string{"no Service has a health check node port"}
		rec.stdout = []byte{}
		return nil, rec
	}
	args := []string{"sh", "-c", healthCheckScript, "healthchecks", ip}
	for _, n := range names {
		ns, port, _ := strings.Cut(n, " ")
		args = append(args, ns, port)
	}
	rec.header = []string{"node address " + ip}
	return args, rec
}

// healthCheckFile probes the health check node ports from node (see
// healthCheckCommand). It returns nil without a Kubernetes client.
func (c *Collector) healthCheckFile(ctx context.Context, node Node) *record {
	args, rec := c.healthCheckCommand(ctx, node)
	return c.healthCheckRecord(ctx, node, args, rec)
}

// healthCheckRecord runs healthCheckCommand's command, if any, into rec.
func (c *Collector) healthCheckRecord(ctx context.Context, node Node, args []string, rec *record) *record {
	if args == nil {
		return rec
	}
	r := run(ctx, node.Cmder, c.timeout(), FileHealthChecks, args...)
	r.header = rec.header
	return &r
}

// nodeInternalIP returns the node's first InternalIP address.
func nodeInternalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}
