package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// partialBase is the state before each partial sync case: a ClusterIP
// Service ns1/svc1 and a NodePort Service ns1/svc2.
func partialBase() ([]*v1.Service, []*discoveryv1.EndpointSlice) {
	return []*v1.Service{
			svc("ns1", "svc1", "10.96.0.10"),
			svc("ns1", "svc2", "10.96.0.20", nodePort(30080)),
		}, []*discoveryv1.EndpointSlice{
			twoEndpoints(),
			slice("ns1", "svc2", "svc2-a", "p80", 80, readyEp("10.244.2.7", "node-b")),
		}
}

// partialCase is one change applied to partialBase, with the partial
// restore text it must produce.
type partialCase struct {
	name   string
	mutate func([]*v1.Service, []*discoveryv1.EndpointSlice) ([]*v1.Service, []*discoveryv1.EndpointSlice)
	want   string
}

// syncs renders the base state and the changed one: the full text of the
// base, the changed RuleSet and snapshot, and the partial text between them.
func (pc partialCase) syncs(t *testing.T) (prevFull []byte, next *RuleSet, nextSnap *snapshot.Snapshot, partial []byte) {
	t.Helper()
	baseServices, baseSlices := partialBase()
	prevSnap := build(t, baseServices, baseSlices)
	prev := Render(Config{}, prevSnap)
	services, slices := pc.mutate(partialBase())
	nextSnap = build(t, services, slices)
	changed := snapshot.Changed(prevSnap, nextSnap)
	next = RenderChanged(Config{}, nextSnap, prev, changed)
	partial, _ = WritePartial(prev, next, changed)
	prevFull, _ = WriteFull(prev, nil)
	return prevFull, next, nextSnap, partial
}

func partialCases() []partialCase {
	return []partialCase{{
		name: "nothing changed",
		mutate: func(s []*v1.Service, e []*discoveryv1.EndpointSlice) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
			return s, e
		},
		want: "",
	}, {
		name: "add a Service",
		mutate: func(s []*v1.Service, e []*discoveryv1.EndpointSlice) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
			return append(s, svc("ns2", "new", "10.96.0.30")),
				append(e, slice("ns2", "new", "new-a", "p80", 8080, readyEp("10.244.3.3", "node-c")))
		},
		want: wantPartialAdd,
	}, {
		name: "change endpoints of a Service",
		mutate: func(s []*v1.Service, e []*discoveryv1.EndpointSlice) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
			e[0] = remoteOnly()
			return s, e
		},
		want: wantPartialEndpoints,
	}, {
		name: "change the node port of a Service",
		mutate: func(s []*v1.Service, e []*discoveryv1.EndpointSlice) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
			s[1] = svc("ns1", "svc2", "10.96.0.20", nodePort(30099))
			return s, e
		},
		want: wantPartialNodePort,
	}, {
		name: "a local endpoint appears",
		mutate: func(s []*v1.Service, e []*discoveryv1.EndpointSlice) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
			e[1] = slice("ns1", "svc2", "svc2-a", "p80", 80, readyEp("10.244.2.7", "node-b"), readyEp("10.244.1.7", testNode))
			return s, e
		},
		want: wantPartialLocalEndpoint,
	}, {
		name: "delete a Service",
		mutate: func(s []*v1.Service, e []*discoveryv1.EndpointSlice) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
			return s[:1], e[:1]
		},
		want: wantPartialDelete,
	}, {
		name: "a Service loses its endpoints",
		mutate: func(s []*v1.Service, e []*discoveryv1.EndpointSlice) ([]*v1.Service, []*discoveryv1.EndpointSlice) {
			return s, e[:1]
		},
		want: wantPartialNoEndpoints,
	}}
}

func TestWritePartial(t *testing.T) {
	for _, tc := range partialCases() {
		t.Run(tc.name, func(t *testing.T) {
			prevText, next, nextSnap, text := tc.syncs(t)
			if diff := cmp.Diff(dedent(tc.want), string(text)); diff != "" {
				t.Errorf("partial restore text (-want +got):\n%s", diff)
			}
			// Applied after the previous full sync, the partial text must
			// leave the same chains and rules as a full sync of next.
			full, _ := WriteFull(Render(Config{}, nextSnap), nil)
			if diff := cmp.Diff(fakeState(t, full), fakeState(t, prevText, text)); diff != "" {
				t.Errorf("kernel state after partial sync (-full +partial):\n%s", diff)
			}
			// The partial rendering must equal a full one.
			reused, _ := WriteFull(next, nil)
			if diff := cmp.Diff(string(full), string(reused)); diff != "" {
				t.Errorf("RenderChanged differs from Render (-full +changed):\n%s", diff)
			}
		})
	}
}

func TestWriteFullDeletesStaleChains(t *testing.T) {
	snap := build(t, []*v1.Service{svc("ns1", "svc1", "10.96.0.10")},
		[]*discoveryv1.EndpointSlice{remoteOnly()})
	existing := &Existing{Chains: map[iptables.Table][]string{
		iptables.TableNAT:    {"SVCCHK-SVC-STALE0000000000", "SVCCHK-SERVICES", "KUBE-SERVICES", "SVCCHK-SVC-KUEAGMSZTYSV7XVL"},
		iptables.TableFilter: {"SVCCHK-OLD-FILTER", "DOCKER"},
	}}
	text, stats := WriteFull(Render(Config{MasqueradeMark: 0x8000}, snap), existing)
	if diff := cmp.Diff(dedent(wantFullStale), string(text)); diff != "" {
		t.Errorf("restore text (-want +got):\n%s", diff)
	}
	wantStats := Stats{
		iptables.TableFilter: {Chains: 6, Rules: 3, Deleted: 1},
		iptables.TableNAT:    {Chains: 7, Rules: 9, Deleted: 1},
	}
	if diff := cmp.Diff(wantStats, stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestWriteCleanup(t *testing.T) {
	existing := map[iptables.Table][]string{
		iptables.TableNAT:    {"SVCCHK-SERVICES", "KUBE-SERVICES", "SVCCHK-SVC-KUEAGMSZTYSV7XVL"},
		iptables.TableFilter: {"DOCKER"},
	}
	text, _ := WriteCleanup(existing)
	want := dedent(`
		*nat
		:SVCCHK-SERVICES - [0:0]
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-X SVCCHK-SERVICES
		-X SVCCHK-SVC-KUEAGMSZTYSV7XVL
		COMMIT
		`)
	if diff := cmp.Diff(want, string(text)); diff != "" {
		t.Errorf("cleanup text (-want +got):\n%s", diff)
	}
}
