package doctor

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/suites/diag"
)

// servicePort is one Service port as the API describes it.
type servicePort struct {
	key       string // ns/name:port or ns/name
	namespace string
	clusterIP string
	port      int32
	local     bool            // internalTrafficPolicy Local
	ready     map[string]bool // ready endpoint ip:port
	all       map[string]bool // every endpoint ip:port
}

// apiServicePorts returns the cluster IP Service ports of the dump by key.
func (d *Dump) apiServicePorts() map[string]*servicePort {
	ports := map[string]*servicePort{}
	byService := map[string][]*servicePort{}
	for _, s := range d.Services {
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone || s.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		for _, p := range s.Spec.Ports {
			key := s.Namespace + "/" + s.Name
			if p.Name != "" {
				key += ":" + p.Name
			}
			sp := &servicePort{key: key, namespace: s.Namespace, clusterIP: s.Spec.ClusterIP, port: p.Port,
				local: s.Spec.InternalTrafficPolicy != nil && *s.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal,
				ready: map[string]bool{}, all: map[string]bool{}}
			ports[key] = sp
			byService[s.Namespace+"/"+s.Name] = append(byService[s.Namespace+"/"+s.Name], sp)
		}
	}
	for _, es := range d.EndpointSlices {
		if es.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		svc := es.Namespace + "/" + es.Labels[discoveryv1.LabelServiceName]
		for _, sp := range byService[svc] {
			for _, p := range es.Ports {
				name := ""
				if p.Name != nil {
					name = *p.Name
				}
				if p.Port == nil || sp.key != strings.TrimSuffix(svc+":"+name, ":") {
					continue
				}
				for _, ep := range es.Endpoints {
					for _, a := range ep.Addresses {
						ipp := net.JoinHostPort(a, strconv.Itoa(int(*p.Port)))
						sp.all[ipp] = true
						if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
							sp.ready[ipp] = true
						}
					}
				}
			}
		}
	}
	return ports
}

// nodeRules is what a node's nat table holds per Service port.
type nodeRules struct {
	dnat  map[string]map[string]saveRule // key -> ip:port -> first DNAT rule
	first map[string]saveRule            // key -> first rule naming it
}

func readNodeRules(lines []string) nodeRules {
	nr := nodeRules{dnat: map[string]map[string]saveRule{}, first: map[string]saveRule{}}
	for _, r := range parseSave(lines).rules {
		key := r.serviceKey()
		if key == "" {
			continue
		}
		if _, ok := nr.first[key]; !ok {
			nr.first[key] = r
		}
		if r.target == "DNAT" && r.toDest != "" {
			if nr.dnat[key] == nil {
				nr.dnat[key] = map[string]saveRule{}
			}
			if _, ok := nr.dnat[key][r.toDest]; !ok {
				nr.dnat[key][r.toDest] = r
			}
		}
	}
	return nr
}

func checkRules(d *Dump) []Finding {
	if !d.proxyIsIPTables() || len(d.Namespaces) == 0 {
		return nil
	}
	ports := d.apiServicePorts()
	keys := make([]string, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Finding
	for _, n := range d.Nodes {
		lines, ok := n.Lines(diag.FileIPTablesNAT)
		if !ok {
			out = append(out, missing(n, diag.FileIPTablesNAT, "Service rules"))
			continue
		}
		nr := readNodeRules(lines)
		file := n.Path(diag.FileIPTablesNAT)
		for _, k := range keys {
			out = append(out, missingRules(n, file, ports[k], nr)...)
		}
		out = append(out, staleRules(d, n, file, ports, nr)...)
	}
	return out
}

// missingRules finds a Service port's ready endpoints missing on a node.
func missingRules(n *NodeDump, file string, sp *servicePort, nr nodeRules) []Finding {
	if sp.local || len(sp.ready) == 0 {
		return nil
	}
	obj := fmt.Sprintf("Service port %s (%s:%d) has %d ready endpoints", sp.key, sp.clusterIP, sp.port, len(sp.ready))
	if len(nr.dnat[sp.key]) == 0 {
		ev := []string{obj}
		if r, ok := nr.first[sp.key]; ok {
			ev = append(ev, evidence(file, r.line, r.text))
			if r.target != "" {
				ev = append(ev, fmt.Sprintf("%s: chain %s holds no DNAT rule for it", file, r.target))
			}
		} else {
			ev = append(ev, file+": no rule names "+sp.key)
		}
		return []Finding{{ID: "SVC012", Severity: SeverityError, Node: n.Name,
			Message:  fmt.Sprintf("Service port %s has ready endpoints but no DNAT rule on the node: its traffic from here is not load-balanced", sp.key),
			Evidence: ev,
			Action:   "check the proxy's log on the node for sync errors and restart the proxy there (its full sync rewrites the Service's chains); find what flushed them"}}
	}
	var gone []string
	for ep := range sp.ready {
		if _, ok := nr.dnat[sp.key][ep]; !ok {
			gone = append(gone, ep)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	sort.Strings(gone)
	return []Finding{{ID: "SVC015", Severity: SeverityWarning, Node: n.Name,
		Message:  fmt.Sprintf("ready endpoints %s of Service port %s have no DNAT rule on the node", strings.Join(gone, ", "), sp.key),
		Evidence: []string{obj, file + ": no DNAT to " + strings.Join(gone, ", ") + " for " + sp.key},
		Action:   "the proxy has not caught up with the EndpointSlices: check its log and sync metrics, restart it on the node"}}
}

// staleRules finds rules naming a Service port or endpoint the API no
// longer has, in namespaces the dump holds.
func staleRules(d *Dump, n *NodeDump, file string, ports map[string]*servicePort, nr nodeRules) []Finding {
	keys := make([]string, 0, len(nr.first))
	for k := range nr.first {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Finding
	for _, k := range keys {
		ns, _, _ := strings.Cut(k, "/")
		if !d.Namespaces[ns] {
			continue
		}
		sp, ok := ports[k]
		if !ok {
			r := nr.first[k]
			out = append(out, Finding{ID: "SVC013", Severity: SeverityWarning, Node: n.Name,
				Message:  fmt.Sprintf("rules for Service port %s, which the API does not have", k),
				Evidence: []string{evidence(file, r.line, r.text)},
				Action:   "restart the proxy on the node (a full sync deletes stale chains); if they stay, delete them by hand and report it"})
			continue
		}
		var eps []string
		for ep := range nr.dnat[k] {
			if !sp.all[ep] {
				eps = append(eps, ep)
			}
		}
		sort.Strings(eps)
		for _, ep := range eps {
			r := nr.dnat[k][ep]
			out = append(out, Finding{ID: "SVC014", Severity: SeverityWarning, Node: n.Name,
				Message:  fmt.Sprintf("a DNAT rule of Service port %s goes to %s, which none of its EndpointSlices lists", k, ep),
				Evidence: []string{evidence(file, r.line, r.text)},
				Action:   "restart the proxy on the node; traffic to the gone endpoint times out or reaches whatever now holds its address"})
		}
	}
	return out
}
