package render

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// objectSource decodes API objects from fuzz input: bytes pick shapes and
// numbers, and strings come from a pool of hostile values plus the two
// fuzz strings.
type objectSource struct {
	byteSource
	words, ips []string
}

// hostileWords are names, port names and annotation values the API server
// would refuse or that are legal but awkward: quotes, newlines, spaces,
// backslashes, non-ASCII and maximum lengths (63 for a label, 253 for a
// DNS subdomain).
var hostileWords = []string{
	"", "a", "p80", `q"uote`, "it's", "new\nline", "tab\there", `back\slash`, "sp ace",
	"-j SVCCHK-SVC-X", "#comment", "ünï", "\x00nul", "--comment",
	strings.Repeat("n", 63), strings.Repeat("s", 253), strings.Repeat(`"`, 100),
}

// hostileIPs are addresses good and bad, IPv4 and IPv6.
var hostileIPs = []string{
	"10.96.0.1", "10.96.0.2", "10.244.1.5", "10.244.2.6", "192.0.2.1", "198.51.100.7",
	"0.0.0.0", "255.255.255.255", "127.0.0.1", "fd00::1", "2001:db8::5", "::ffff:10.1.2.3",
	"fe80::1%eth0", "", "None", "not-an-ip", "1.2.3.4.5", "10.96.0.01", " 10.96.0.3", "10.0.0.0/8",
}

func (s *objectSource) word() string { return s.words[int(s.next())%len(s.words)] }
func (s *objectSource) ip() string   { return s.ips[int(s.next())%len(s.ips)] }

// int32 returns a number near one of the interesting bounds.
func (s *objectSource) int32() int32 {
	base := []int32{0, 80, 30000, 65535, 65536, -1, 86400, 1 << 30}[s.next()%8]
	return base + int32(s.next()%4) - 1
}

// maybe returns p or nil.
func maybe[T any](s *objectSource, v T) *T {
	if s.next()%3 == 0 {
		return nil
	}
	return &v
}

// fuzzService decodes one Service of any type, with arbitrary names,
// ports, protocols, addresses, traffic policies and affinity.
func (s *objectSource) fuzzService() *v1.Service {
	svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: s.word(), Name: s.word(),
		Annotations: map[string]string{s.word(): s.word()}}}
	flags := s.next()
	svc.Spec.Type = []v1.ServiceType{v1.ServiceTypeClusterIP, v1.ServiceTypeNodePort,
		v1.ServiceTypeLoadBalancer, v1.ServiceTypeExternalName, "Bogus"}[flags%5]
	svc.Spec.ClusterIP = s.ip()
	for range s.next() % 3 {
		svc.Spec.ClusterIPs = append(svc.Spec.ClusterIPs, s.ip())
	}
	protocols := []v1.Protocol{v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP, "", "ICMP", v1.Protocol(s.word())}
	for range 1 + s.next()%3 {
		svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{Name: s.word(), Port: s.int32(),
			Protocol: protocols[int(s.next())%len(protocols)], NodePort: s.int32()})
	}
	for range s.next() % 3 {
		svc.Spec.ExternalIPs = append(svc.Spec.ExternalIPs, s.ip())
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, v1.LoadBalancerIngress{IP: s.ip()})
	}
	if flags&8 != 0 {
		svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		svc.Spec.HealthCheckNodePort = s.int32()
	}
	svc.Spec.InternalTrafficPolicy = maybe(s, []v1.ServiceInternalTrafficPolicy{
		v1.ServiceInternalTrafficPolicyLocal, v1.ServiceInternalTrafficPolicyCluster}[s.next()%2])
	if flags&16 != 0 {
		svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		svc.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: maybe(s, s.int32())}}
	}
	if flags&32 != 0 {
		svc.Labels = map[string]string{[]string{snapshot.LabelHeadless, snapshot.LabelServiceProxyName, s.word()}[s.next()%3]: s.word()}
	}
	return svc
}

// fuzzSlice decodes one EndpointSlice of svc: address type, ports named
// after svc's or not, endpoints with any address, node and conditions, or
// 10,000 endpoints at once.
func (s *objectSource) fuzzSlice(svc *v1.Service, node string) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: svc.Namespace, Name: s.word(), Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN}[s.next()%3],
	}
	for _, sp := range svc.Spec.Ports {
		name := sp.Name
		if s.next()%4 == 0 {
			name = s.word()
		}
		es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: maybe(s, name), Port: maybe(s, s.int32()), Protocol: maybe(s, sp.Protocol)})
	}
	n := int(s.next() % 6)
	many := s.next() == 0xff
	if many {
		n = 10000
	}
	for i := range n {
		addr := s.ip()
		if many {
			addr = fmt.Sprintf("10.%d.%d.%d", 100+i>>16, i>>8&0xff, i&0xff)
		}
		ep := discoveryv1.Endpoint{Addresses: []string{addr}, NodeName: maybe(s, []string{node, "other", s.word()}[s.next()%3]),
			Conditions: discoveryv1.EndpointConditions{Ready: maybe(s, s.next()&1 != 0),
				Serving: maybe(s, s.next()&1 != 0), Terminating: maybe(s, s.next()&1 != 0)}}
		es.Endpoints = append(es.Endpoints, ep)
	}
	return es
}

// fuzzObjects decodes a Node and up to 4 Services with up to 2 slices each.
func fuzzObjects(data []byte, word, ip string) (*v1.Node, []*v1.Service, []*discoveryv1.EndpointSlice) {
	s := &objectSource{byteSource: byteSource{data: data},
		words: append([]string{word}, hostileWords...), ips: append([]string{ip}, hostileIPs...)}
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: s.word()}}
	for range s.next() % 3 {
		node.Status.Addresses = append(node.Status.Addresses, v1.NodeAddress{
			Type: []v1.NodeAddressType{v1.NodeInternalIP, v1.NodeExternalIP}[s.next()%2], Address: s.ip()})
	}
	var services []*v1.Service
	var slices []*discoveryv1.EndpointSlice
	for range s.next() % 5 {
		svc := s.fuzzService()
		services = append(services, svc)
		for range s.next() % 3 {
			slices = append(slices, s.fuzzSlice(svc, node.Name))
		}
	}
	return node, services, slices
}

// nodeConfig is the snapshot configuration the proxy derives from node:
// its name and its parsable InternalIP addresses.
func nodeConfig(node *v1.Node) snapshot.Config {
	cfg := snapshot.Config{NodeName: node.Name, NodeLabels: node.Labels, ClusterCIDRs: testConfig.ClusterCIDRs}
	for _, a := range node.Status.Addresses {
		if ip, err := netip.ParseAddr(a.Address); err == nil && a.Type == v1.NodeInternalIP {
			cfg.NodeIPs = append(cfg.NodeIPs, ip)
		}
	}
	return cfg
}

// objectSeeds are the seed inputs: quotes, newlines, maximum-length names,
// IPv6 and bad addresses, and a slice of 10,000 endpoints
// (TestObjectSeeds checks they decode to that).
var objectSeeds = []struct {
	data     []byte
	word, ip string
}{
	{objectSeed(nil), "", ""},
	{objectSeed(map[int]byte{seedNamespace: 4, seedName: 5}), "", ""},                     // q"uote, it's
	{objectSeed(map[int]byte{seedName: 6, seedPortName: 7}), "", ""},                      // new\nline, tab\there
	{objectSeed(map[int]byte{seedNamespace: 15, seedName: 16, seedPortName: 17}), "", ""}, // 63, 253, 100 quotes
	{objectSeed(map[int]byte{seedClusterIP: 10}), "", ""},                                 // fd00::1
	{objectSeed(map[int]byte{seedClusterIP: 0, seedName: 0}), "\"\n\\", "2001:db8::1"},
	{objectSeed(map[int]byte{seedAddressType: 1}), "", ""}, // an IPv6 slice
	{objectSeed(map[int]byte{seedMany: 0xff}), "", ""},     // 10,000 endpoints
}

// Positions in objectSeed's bytes (see fuzzObjects for the decoding order).
const (
	seedNamespace   = 3
	seedName        = 4
	seedClusterIP   = 8
	seedPortName    = 12
	seedAddressType = 23
	seedMany        = 31
)

// objectSeed returns the input of one ClusterIP Service "a/a" at 10.96.0.1
// with TCP port "p80" 80 and one IPv4 slice with target port 80 and one
// ready endpoint (after the input runs out, zeros leave every condition
// unset), with the bytes at the positions in set replaced.
func objectSeed(set map[int]byte) []byte {
	data := []byte{
		0, 0, 1, // node name: the fuzz word; no addresses; one Service
		2, 2, 0, 0, // namespace, name, annotation "a/a", {"": ""}
		0, 1, 0, 0, // ClusterIP, cluster IP 10.96.0.1, no clusterIPs, a word
		0, 3, 1, 1, 0, 0, 1, // one port "p80" 80 TCP, node port 0
		0, 0, 0, // no external IPs, internalTrafficPolicy unset
		1, 2, 0, // one slice "a", IPv4
		1, 1, 1, 1, 1, 1, // port named "p80", port 80, protocol TCP
		0, 0, // no endpoints, or 10,000 with 0xff
	}
	for i, b := range set {
		data[i] = b
	}
	return data
}

// FuzzSnapshot builds a Node, Services and EndpointSlices from fuzz input
// (arbitrary strings in names, namespaces, port names and annotations,
// good, bad and IPv6 addresses, any ports, protocols, policies and
// affinity timeouts), runs them through snapshot.Build and the renderer,
// and has the real iptables-restore of both backends test the full
// restore text in a scratch namespace: nothing may panic and every text
// must be accepted. Without root or iptables it skips (fails under
// SVCCHECK_REQUIRE_PRIVILEGED=1).
func FuzzSnapshot(f *testing.F) {
	needRealIPTables(f)
	for _, s := range objectSeeds {
		f.Add(s.data, s.word, s.ip)
	}
	namespaces := map[string]*scratch{}
	for _, b := range backends {
		namespaces[string(b)] = newScratch(f)
	}
	f.Fuzz(func(t *testing.T, data []byte, word, ip string) {
		node, services, slices := fuzzObjects(data, word, ip)
		snap, _ := snapshot.Build(nodeConfig(node), services, slices)
		text, _ := WriteFull(Render(Config{}, snap), nil)
		for _, b := range backends {
			if err := namespaces[string(b)].restore(b, text, true); err != nil {
				t.Fatalf("%s refuses the full restore text: %v\n%s", b, err, firstLines(text, 200))
			}
		}
	})
}

// firstLines returns the first n lines of text.
func firstLines(text []byte, n int) string {
	lines := strings.SplitN(string(text), "\n", n+1)
	if len(lines) > n {
		lines[n] = "..."
	}
	return strings.Join(lines, "\n")
}
