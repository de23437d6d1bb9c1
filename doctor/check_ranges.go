package doctor

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/diag"
)

// namedRange is an address range, what it is and where it was read.
type namedRange struct {
	kind   string // pod, Service, node, Docker network
	name   string
	prefix netip.Prefix
	where  string
}

// apiServerFlag returns the value of a kube-apiserver (or other control
// plane component) flag from the static pods of the dump, and where it was.
func (d *Dump) componentFlag(component, flag string) (value, where string) {
	for _, p := range d.Pods {
		if p.Namespace != "kube-system" || p.Labels["component"] != component {
			continue
		}
		for _, c := range p.Spec.Containers {
			for _, arg := range append(append([]string{}, c.Command...), c.Args...) {
				if v, ok := strings.CutPrefix(arg, "--"+flag+"="); ok {
					return v, fmt.Sprintf("pod kube-system/%s: %s", p.Name, arg)
				}
			}
		}
	}
	return "", ""
}

// clusterRanges returns the pod, Service and Docker network ranges.
func (d *Dump) clusterRanges() []namedRange {
	var out []namedRange
	add := func(kind, name, cidrs, where string) {
		for _, c := range strings.Split(cidrs, ",") {
			if p, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil {
				out = append(out, namedRange{kind, name, p.Masked(), where})
			}
		}
	}
	if v, where := d.componentFlag("kube-apiserver", "service-cluster-ip-range"); v != "" {
		add("Service", "service-cluster-ip-range", v, where)
	}
	if v, where := d.componentFlag("kube-controller-manager", "cluster-cidr"); v != "" {
		add("pod", "cluster-cidr", v, where)
	} else {
		for _, n := range d.NodeObjects {
			add("pod", "podCIDR of "+n.Name, strings.Join(n.Spec.PodCIDRs, ","), "node "+n.Name+" spec.podCIDRs")
		}
	}
	for _, dn := range d.DockerNetworks {
		add("Docker network", dn[0], dn[1], "cluster/"+FileDockerNetworks+": "+dn[0]+" "+dn[1])
	}
	return out
}

// nodeRanges returns the subnet of each node's InternalIP, from its ip-addr.txt.
func (d *Dump) nodeRanges() []namedRange {
	var out []namedRange
	for _, n := range d.Nodes {
		ip := ""
		for _, o := range d.NodeObjects {
			if o.Name == n.Name {
				for _, a := range o.Status.Addresses {
					if a.Type == corev1.NodeInternalIP && ip == "" {
						ip = a.Address
					}
				}
			}
		}
		lines, _ := n.Lines(diag.FileIPAddr)
		for i, l := range lines {
			f := strings.Fields(l)
			if len(f) < 2 || f[0] != "inet" || !strings.HasPrefix(f[1], ip+"/") || ip == "" {
				continue
			}
			if p, err := netip.ParsePrefix(f[1]); err == nil {
				out = append(out, namedRange{"node", n.Name, p.Masked(), evidence(n.Path(diag.FileIPAddr), i+1, l)})
			}
		}
	}
	return out
}

func checkRangeOverlap(d *Dump) []Finding {
	cluster := d.clusterRanges()
	nodes := d.nodeRanges()
	var out []Finding
	seen := map[string]bool{}
	all := append(append([]namedRange{}, cluster...), nodes...)
	for i, a := range all {
		for _, b := range all[i+1:] {
			if a.kind == b.kind || !a.prefix.Overlaps(b.prefix) || benignOverlap(a, b, nodes) {
				continue
			}
			key := a.prefix.String() + "|" + b.prefix.String()
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, Finding{ID: "SVC001", Severity: SeverityError,
				Message: fmt.Sprintf("the %s range %s (%s) overlaps the %s range %s (%s): traffic to one is routed or NATed as the other",
					a.kind, a.prefix, a.name, b.kind, b.prefix, b.name),
				Evidence: []string{a.where, b.where},
				Action:   "give every range its own addresses: recreate the cluster with a non-overlapping podSubnet/serviceSubnet, or remove or move the Docker network"})
		}
	}
	return out
}

// benignOverlap is the Docker network the nodes themselves sit on: it is
// the node range by design.
func benignOverlap(a, b namedRange, nodes []namedRange) bool {
	for _, r := range []namedRange{a, b} {
		if r.kind != "Docker network" {
			continue
		}
		for _, n := range nodes {
			if n.prefix == r.prefix {
				return a.kind == "node" || b.kind == "node"
			}
		}
	}
	return false
}

func checkServiceRoutes(d *Dump) []Finding {
	var svc []namedRange
	for _, r := range d.clusterRanges() {
		if r.kind == "Service" {
			svc = append(svc, r)
		}
	}
	if len(svc) == 0 || d.ProxyMode == "kube-proxy:ipvs" {
		return nil
	}
	var out []Finding
	for _, n := range d.Nodes {
		lines, ok := n.Lines(diag.FileIPRoute)
		if !ok {
			out = append(out, missing(n, diag.FileIPRoute, "routes"))
			continue
		}
		for i, l := range lines {
			f := strings.Fields(l)
			if len(f) == 0 || strings.HasPrefix(l, "#") {
				continue
			}
			dst := f[0]
			switch dst {
			case "local", "broadcast", "multicast", "anycast", "default":
				continue
			case "unicast", "blackhole", "unreachable", "prohibit", "throw":
				if len(f) < 2 {
					continue
				}
				dst = f[1]
			}
			if !strings.Contains(dst, "/") {
				dst += "/32"
			}
			p, err := netip.ParsePrefix(dst)
			if err != nil {
				continue
			}
			for _, s := range svc {
				if p.Overlaps(s.prefix) {
					out = append(out, Finding{ID: "SVC002", Severity: SeverityWarning, Node: n.Name,
						Message:  fmt.Sprintf("route %s overlaps the Service range %s: Service traffic the proxy does not DNAT follows it", p, s.prefix),
						Evidence: []string{evidence(n.Path(diag.FileIPRoute), i+1, l), s.where},
						Action:   "remove the route, or move whatever it serves out of the Service range"})
				}
			}
		}
	}
	return out
}

func checkLocalPortRange(d *Dump) []Finding {
	rng, where := d.componentFlag("kube-apiserver", "service-node-port-range")
	if rng == "" {
		rng, where = "30000-32767", "kube-apiserver default --service-node-port-range=30000-32767"
	}
	lo, hi, ok := parsePortRange(strings.ReplaceAll(rng, "-", " "))
	if !ok {
		return nil
	}
	return nodeSysctls(d, "ip_local_port_range", func(n *NodeDump, s map[string]sysctlValue) []Finding {
		v, ok := s["net.ipv4.ip_local_port_range"]
		if !ok {
			return []Finding{missing(n, "net.ipv4.ip_local_port_range in "+diag.FileSysctl, "ip_local_port_range")}
		}
		llo, lhi, ok := parsePortRange(v.value)
		if !ok || llo > hi || lhi < lo {
			return nil
		}
		return []Finding{{ID: "SVC003", Severity: SeverityWarning, Node: n.Name,
			Message:  fmt.Sprintf("ip_local_port_range %d-%d overlaps the NodePort range %d-%d: a local connection may take a node port's number as its source port", llo, lhi, lo, hi),
			Evidence: append(v.evidence(n, diag.FileSysctl), where),
			Action:   fmt.Sprintf("move ip_local_port_range above %d (sysctl -w net.ipv4.ip_local_port_range=\"%d %d\") or reserve the NodePorts in net.ipv4.ip_local_reserved_ports", hi, hi+1, max(lhi, hi+1))}}
	})
}

func parsePortRange(s string) (lo, hi int, ok bool) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	return lo, hi, err1 == nil && err2 == nil
}
