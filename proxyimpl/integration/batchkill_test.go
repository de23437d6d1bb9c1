package integration

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/render"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// killScale is the synthetic cluster of the batch kill test: 10k
// Services, enough for a full sync of several nft transactions.
var killScale = scale{services: 10000, endpoints: 3}

// TestIntegrationKillBetweenBatches kills the proxy with SIGKILL between
// two transactions of a batched nft full sync (render.WriteFullBatched)
// that rewrites every one of 10k Services: in the middle of the ports'
// chains, and after the first transaction (global chains and hairpin
// rules), the worst boundary: every port's rules are still old there. Between the kill and the
// restart, and after the restarted proxy's sync, every Service's chain
// must be whole (all of one generation's endpoints) and every jump must
// resolve; an established connection through a Service whose endpoints
// the sync changes keeps its backend, and new connections are answered
// throughout.
func TestIntegrationKillBetweenBatches(t *testing.T) {
	for _, k := range []int{4, 1} {
		t.Run(fmt.Sprintf("after transaction %d", k), func(t *testing.T) { testKillBetweenBatches(t, k) })
	}
}

func testKillBetweenBatches(t *testing.T, haltAfter int) {
	requireNetNS(t, "iptables-nft-restore")
	if testBackend() != iptables.BackendNFT {
		t.Skip("batched full syncs are for iptables-nft only")
	}
	topo := newTopology(t, 2, 2)
	dumpOnFailure(t, topo)
	n1, n2 := topo.Nodes[0], topo.Nodes[1]
	client := n1.Pods[0]
	startStream(t, n1.Pods[1], n2.Pods[0], n2.Pods[1])
	keep := newService("keep", vip(60000), v1.ProtocolTCP, 80)
	before := killWorld(keep, streamSlice(keep, n1.Pods[1], n2.Pods[0]), 0, topo)
	// The sync moves keep off its local backend: its hairpin rule goes.
	after := killWorld(keep, streamSlice(keep, n2.Pods[0], n2.Pods[1]), 1, topo)

	start := time.Now()
	first := startProxyChild(t, n1, before, 0)
	first.wait(t, syncedLine, 5*time.Minute)
	t.Logf("first proxy synced %d Services in %s", killScale.services+1, time.Since(start).Round(100*time.Millisecond))
	m := startMonitor(t, client.NS, hostPort(vip(60000), 80))
	defer m.finish(t)
	first.kill()

	start = time.Now()
	halted := startProxyChild(t, n1, after, haltAfter)
	t.Logf("second proxy %s (%s)", halted.wait(t, haltedLine, 5*time.Minute), time.Since(start).Round(100*time.Millisecond))
	halted.kill()
	want := []map[string][]string{endpointsOf(before), endpointsOf(after)}
	local := []map[string]bool{localEndpoints(n1.Name, before), localEndpoints(n1.Name, after)}
	checkNATWhole(t, saveNAT(t, n1), want, local, false)
	time.Sleep(time.Second) // traffic over the tables the kill left

	start = time.Now()
	restarted := startProxyChild(t, n1, after, 0)
	restarted.wait(t, syncedLine, 5*time.Minute)
	t.Logf("restarted proxy synced in %s", time.Since(start).Round(100*time.Millisecond))
	checkNATWhole(t, saveNAT(t, n1), want[1:], local[1:], true)
	waitServed(t, m, n2.Pods[1].Name, 10*time.Second)
}

// killWorld returns the API objects of the batch kill test: the Service
// keep with slice, the synthetic Services of killScale with their
// endpoints shifted by generation, and the nodes of topo.
func killWorld(keep *v1.Service, slice *discoveryv1.EndpointSlice, generation int, topo *Topology) proxyObjects {
	objs := proxyObjects{Services: []*v1.Service{keep}, Slices: []*discoveryv1.EndpointSlice{slice}}
	for i := range killScale.services {
		svc, es := benchService(i, killScale.endpoints, generation)
		objs.Services = append(objs.Services, svc)
		objs.Slices = append(objs.Slices, es)
	}
	for _, n := range topo.Nodes {
		objs.Nodes = append(objs.Nodes, newNode(n))
	}
	return objs
}

// localEndpoints returns the addresses of the endpoints on node in world.
func localEndpoints(node string, world proxyObjects) map[string]bool {
	local := map[string]bool{}
	for _, es := range world.Slices {
		for _, ep := range es.Endpoints {
			if ep.NodeName != nil && *ep.NodeName == node {
				local[ep.Addresses[0]] = true
			}
		}
	}
	return local
}

// endpointsOf maps each Service port of objs ("namespace/name:port") to
// its sorted DNAT destinations.
func endpointsOf(objs proxyObjects) map[string][]string {
	out := map[string][]string{}
	for i, svc := range objs.Services {
		es := objs.Slices[i]
		var dests []string
		for _, ep := range es.Endpoints {
			dests = append(dests, fmt.Sprintf("%s:%d", ep.Addresses[0], *es.Ports[0].Port))
		}
		slices.Sort(dests)
		out[fmt.Sprintf("%s/%s:%s", svc.Namespace, svc.Name, svc.Spec.Ports[0].Name)] = dests
	}
	return out
}

func saveNAT(t *testing.T, n *Node) string {
	t.Helper()
	out, err := iptables.New(iptables.NetNSCmder(n.NS), iptables.BackendNFT).Save(context.Background(), iptables.TableNAT, false)
	if err != nil {
		t.Fatalf("saving the nat table of %s: %v", n.Name, err)
	}
	return string(out)
}

var (
	jumpRe    = regexp.MustCompile(` -[jg] (` + snapshot.ChainPrefix + `\S+)`)
	commentRe = regexp.MustCompile(`--comment (?:"([^"]*)"|(\S+))`)
	dnatRe    = regexp.MustCompile(`-j DNAT --to-destination (\S+)`)
	hairpinRe = regexp.MustCompile(`^-A ` + render.ChainHairpin + ` -s ([0-9.]+)/32 -d ([0-9.]+)/32 `)
)

// checkNATWhole checks an iptables-save of the nat table: every jump to a
// svccheck chain resolves, and every SVC chain the SERVICES chain jumps
// to DNATs to exactly the endpoints of its port in one of worlds, and has
// a hairpin rule for each of them on the node in that world (local[i] for
// worlds[i]: a pod reaching itself through its Service is masqueraded). With final, every port of worlds[0] has its
// chain, and no SVC chain is left that nothing jumps to.
func checkNATWhole(t *testing.T, save string, worlds []map[string][]string, local []map[string]bool, final bool) {
	t.Helper()
	chains := map[string][]string{}
	for _, l := range strings.Split(save, "\n") {
		if name, ok := strings.CutPrefix(l, ":"); ok {
			name, _, _ = strings.Cut(name, " ")
			chains[name] = chains[name][:0:0]
		} else if rest, ok := strings.CutPrefix(l, "-A "); ok {
			name, _, _ := strings.Cut(rest, " ")
			chains[name] = append(chains[name], l)
		}
	}
	var problems []string
	referenced := map[string]bool{}
	for _, rules := range chains {
		for _, r := range rules {
			for _, m := range jumpRe.FindAllStringSubmatch(r, -1) {
				referenced[m[1]] = true
				if _, ok := chains[m[1]]; !ok {
					problems = append(problems, "jump to a missing chain: "+r)
				}
			}
		}
	}
	hairpin := map[string]bool{}
	for _, r := range chains[render.ChainHairpin] {
		if m := hairpinRe.FindStringSubmatch(r); m != nil && m[1] == m[2] {
			hairpin[m[1]] = true
		}
	}
	seen := map[string]bool{}
	for name, rules := range chains {
		if !strings.HasPrefix(name, snapshot.SVCPrefix) {
			continue
		}
		if !referenced[name] {
			if final {
				problems = append(problems, "SVC chain nothing jumps to: "+name)
			}
			continue
		}
		port, dests := chainDNATs(rules)
		seen[port] = true
		whole := -1
		for i, w := range worlds {
			if slices.Equal(w[port], dests) {
				whole = i
			}
		}
		if whole < 0 {
			problems = append(problems, fmt.Sprintf("chain %s of %s DNATs to %v, not all the endpoints of one generation (%v)", name, port, dests, wantOf(worlds, port)))
		}
		for _, d := range dests {
			if ip, _, _ := strings.Cut(d, ":"); whole >= 0 && local[whole][ip] && !hairpin[ip] {
				problems = append(problems, fmt.Sprintf("chain %s of %s DNATs to the local endpoint %s, which has no hairpin rule", name, port, d))
			}
		}
	}
	if final {
		for _, port := range slices.Sorted(maps.Keys(worlds[0])) {
			if !seen[port] {
				problems = append(problems, "no chain for "+port)
			}
		}
	}
	t.Logf("nat table: %d chains, %d SVC chains in use, %d problems", len(chains), len(seen), len(problems))
	if len(problems) > 0 {
		t.Errorf("%d problems in the nat table, first:\n%s", len(problems), strings.Join(problems[:min(len(problems), 10)], "\n"))
	}
}

// chainDNATs returns the port an SVC chain's DNAT rules are for and their
// sorted destinations.
func chainDNATs(rules []string) (port string, dests []string) {
	for _, r := range rules {
		d := dnatRe.FindStringSubmatch(r)
		if d == nil {
			continue
		}
		dests = append(dests, d[1])
		if c := commentRe.FindStringSubmatch(r); c != nil {
			port = c[1] + c[2]
		}
	}
	slices.Sort(dests)
	return port, dests
}

func wantOf(worlds []map[string][]string, port string) [][]string {
	var out [][]string
	for _, w := range worlds {
		out = append(out, w[port])
	}
	return out
}
