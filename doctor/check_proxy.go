package doctor

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/suites/diag"
)

// localReady counts the ready endpoints of Service ns/name on each node.
func (d *Dump) localReady(ns, name string) map[string]int {
	out := map[string]int{}
	for _, es := range d.EndpointSlices {
		if es.Namespace != ns || es.Labels[discoveryv1.LabelServiceName] != name || es.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.NodeName != nil && (ep.Conditions.Ready == nil || *ep.Conditions.Ready) {
				out[*ep.NodeName]++
			}
		}
	}
	return out
}

var httpCode = regexp.MustCompile(` HTTP=(\d{3})$`)

func checkHealthChecks(d *Dump) []Finding {
	hc := map[string]bool{}
	for _, s := range d.Services {
		if s.Spec.HealthCheckNodePort != 0 {
			hc[s.Namespace+"/"+s.Name] = true
		}
	}
	if len(hc) == 0 {
		return nil
	}
	var out []Finding
	for _, n := range d.Nodes {
		lines, ok := n.Lines(diag.FileHealthChecks)
		if !ok {
			out = append(out, missing(n, diag.FileHealthChecks, "health check node ports"))
			continue
		}
		for i, l := range lines {
			f := strings.Fields(l)
			m := httpCode.FindStringSubmatch(l)
			if len(f) < 2 || m == nil || !hc[f[0]] {
				continue
			}
			ns, name, _ := strings.Cut(f[0], "/")
			local := d.localReady(ns, name)[n.Name]
			want := "503"
			if local > 0 {
				want = "200"
			}
			if m[1] == want {
				continue
			}
			out = append(out, Finding{ID: "SVC020", Severity: SeverityError, Node: n.Name,
				Message: fmt.Sprintf("the health check node port %s of Service %s answers HTTP %s, but the node has %d ready local endpoints (want %s): load balancers send traffic to a node that drops it, or avoid one that serves",
					f[1], f[0], m[1], local, want),
				Evidence: []string{evidence(n.Path(diag.FileHealthChecks), i+1, l), fmt.Sprintf("EndpointSlices of %s: %d ready endpoints on %s", f[0], local, n.Name)},
				Action:   "check that the proxy runs on the node and serves health checks (its log, its metrics), and restart it"})
		}
	}
	return out
}

// proxyPods returns the proxy's pods by node.
func (d *Dump) proxyPods() map[string]corev1.Pod {
	out := map[string]corev1.Pod{}
	for _, p := range d.Pods {
		if p.Namespace != diag.ProxyNamespace {
			continue
		}
		if p.Labels["app"] == diag.SvccheckProxyDaemonSet || p.Labels["k8s-app"] == diag.SvccheckProxyDaemonSet || p.Labels["k8s-app"] == diag.KubeProxyDaemonSet {
			out[p.Spec.NodeName] = p
		}
	}
	return out
}

func checkProxyPods(d *Dump) []Finding {
	if !d.Namespaces[diag.ProxyNamespace] || d.ProxyMode == "" {
		return nil
	}
	pods := d.proxyPods()
	var out []Finding
	for _, n := range d.Nodes {
		p, ok := pods[n.Name]
		if !ok {
			out = append(out, Finding{ID: "SVC021", Severity: SeverityError, Node: n.Name,
				Message:  fmt.Sprintf("no %s proxy pod runs on the node: nothing keeps its Service rules up to date", d.ProxyMode),
				Evidence: []string{"cluster/kube-system/pods.yaml: no proxy pod with spec.nodeName " + n.Name},
				Action:   "check the proxy DaemonSet's node selector and tolerations, and the node's taints"})
			continue
		}
		obj := "pod kube-system/" + p.Name
		if !podReady(p) {
			out = append(out, Finding{ID: "SVC021", Severity: SeverityError, Node: n.Name,
				Message: "the proxy pod is not Ready", Evidence: []string{obj + ": " + podConditions(p)},
				Action: "read the proxy's log (nodes/" + n.Name + "/" + diag.FileProxyLog + ") and kubectl describe the pod"})
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount == 0 {
				continue
			}
			why := ""
			if t := cs.LastTerminationState.Terminated; t != nil {
				why = fmt.Sprintf(", last ended %s (exit %d) at %s", t.Reason, t.ExitCode, t.FinishedAt.UTC().Format("15:04:05"))
			}
			out = append(out, Finding{ID: "SVC022", Severity: SeverityWarning, Node: n.Name,
				Message:  fmt.Sprintf("the proxy's container %s restarted %d times", cs.Name, cs.RestartCount),
				Evidence: []string{fmt.Sprintf("%s: restartCount %d%s", obj, cs.RestartCount, why)},
				Action:   "read its previous log (nodes/" + n.Name + "/" + diag.FileProxyPreviousLog + ") for why it ended"})
		}
	}
	return out
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podConditions(p corev1.Pod) string {
	var parts []string
	for _, c := range p.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s", c.Type, c.Status))
	}
	return "phase " + string(p.Status.Phase) + ", " + strings.Join(parts, " ")
}

// syncFailureMetrics are the counters of failed syncs of each proxy.
var syncFailureMetrics = []string{"svccheck_proxy_sync_failures_total", "kubeproxy_sync_proxy_rules_iptables_restore_failures_total"}

func checkProxyMetrics(d *Dump) []Finding {
	if d.ProxyMode == "" {
		return nil
	}
	var out []Finding
	for _, n := range d.Nodes {
		if lines, ok := n.Lines(diag.FileHealthz); ok {
			if i, l := findLine(lines, "# svccheck: HTTP "); i > 0 && !strings.HasSuffix(l, " 200") {
				out = append(out, Finding{ID: "SVC023", Severity: SeverityError, Node: n.Name,
					Message:  "the proxy's /healthz does not answer 200: its rules are not up to date, or it does not run",
					Evidence: []string{evidence(n.Path(diag.FileHealthz), i, l)},
					Action:   "read the proxy's log on the node; restart the proxy"})
			}
		}
		lines, ok := n.Lines(diag.FileMetrics)
		if !ok {
			continue
		}
		for i, l := range lines {
			name, value, found := strings.Cut(l, " ")
			base, _, _ := strings.Cut(name, "{")
			if !found || !contains(syncFailureMetrics, base) {
				continue
			}
			if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil && v > 0 {
				out = append(out, Finding{ID: "SVC023", Severity: SeverityWarning, Node: n.Name,
					Message:  fmt.Sprintf("the proxy counted %g failed syncs since it started", v),
					Evidence: []string{evidence(n.Path(diag.FileMetrics), i+1, l)},
					Action:   "read the proxy's log for the iptables-restore errors; a failure that repeats leaves rules stale"})
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
