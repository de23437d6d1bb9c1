package cluster

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// CNIConfigPath is where the pod network configuration is written on each
// node of a cluster whose node image has no CNI of its own.
const CNIConfigPath = "/etc/cni/net.d/10-svccheck.conflist"

// cniConflist returns a CNI configuration list giving pods of a node a
// point-to-point veth and an address from podCIDR (host-local IPAM), with
// hostPort support (portmap). Pod traffic is not masqueraded, so backends
// see the real client address; containerd brings up the pods' loopback
// interface itself.
func cniConflist(podCIDR string) (string, error) {
	prefix, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return "", fmt.Errorf("parsing pod CIDR %q: %w", podCIDR, err)
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "svccheck",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    1500,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": []any{[]any{map[string]any{"subnet": prefix.Masked().String()}}},
					"routes": []any{map[string]any{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{
				"type":         "portmap",
				"capabilities": map[string]bool{"portMappings": true},
			},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding the CNI configuration: %w", err)
	}
	return string(b) + "\n", nil
}

// podRoute is a route to another node's pod CIDR through that node.
type podRoute struct {
	CIDR string
	Via  string
}

// podRoutes returns, for the node named self, a route to the pod CIDR of
// every other node via that node's internal IP, sorted as nodes is.
func podRoutes(self string, nodes []Node) ([]podRoute, error) {
	var routes []podRoute
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		if n.PodCIDR == "" || n.InternalIP == "" {
			return nil, fmt.Errorf("node %s has no pod CIDR or internal IP yet", n.Name)
		}
		routes = append(routes, podRoute{CIDR: n.PodCIDR, Via: n.InternalIP})
	}
	return routes, nil
}

// routeArgs returns the arguments of the ip command installing r.
func (r podRoute) routeArgs() []string {
	return []string{"route", "replace", r.CIDR, "via", r.Via}
}

func (r podRoute) String() string { return strings.Join(r.routeArgs(), " ") }
