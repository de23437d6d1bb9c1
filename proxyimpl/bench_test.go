package proxyimpl

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/internal/testenv"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
)

// benchObjects returns n ClusterIP Services with one slice of ten
// endpoints each, one of them on this node.
func benchObjects(n int) ([]runtime.Object, []*discoveryv1.EndpointSlice) {
	var objs []runtime.Object
	var slices []*discoveryv1.EndpointSlice
	for i := range n {
		name := fmt.Sprintf("svc-%05d", i)
		ip := fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)
		eps := []endpoint{{fmt.Sprintf("10.244.%d.%d", i/250, i%250+1), testNode}}
		for j := 1; j < 10; j++ {
			eps = append(eps, endpoint{fmt.Sprintf("10.%d.%d.%d", 244+j, i/250, i%250+1), fmt.Sprintf("node-%d", j)})
		}
		s := slice("bench", name, name+"-1", 8080, v1.ProtocolTCP, eps...)
		objs = append(objs, service("bench", name, ip, 80, v1.ProtocolTCP), s)
		slices = append(slices, s)
	}
	return objs, slices
}

// benchSync measures full syncs and partial syncs of one changed Service
// among n, programming ipt.
func benchSync(b *testing.B, ipt iptables.Interface, n int) {
	objs, slices := benchObjects(n)
	env := newEnvIPT(b, ipt, nil, objs...)
	env.start(int64(1 + len(objs)))
	env.sync()
	// A full sync over a kernel that holds exactly the rendered rules: the
	// periodic resync, or a restarted proxy.
	b.Run(fmt.Sprintf("full/services=%d", n), func(b *testing.B) {
		for range b.N {
			env.p.tracker.needFull()
			env.sync()
		}
	})
	// A full sync that finds every port chain changed and rewrites all of
	// them: each got an extra rule behind the proxy's back.
	b.Run(fmt.Sprintf("full-rewrite/services=%d", n), func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			tamperPortChains(b, env)
			b.StartTimer()
			env.p.tracker.needFull()
			env.sync()
		}
	})
	changes := 0 // across rounds, so every update really changes a slice
	b.Run(fmt.Sprintf("partial-one-change/services=%d", n), func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			changes++
			i := changes
			s := slices[i%n].DeepCopy()
			s.Endpoints[1].Addresses = []string{fmt.Sprintf("10.246.%d.%d", i/250%250, i%250+1)}
			slices[i%n] = s
			seen := env.p.events.Load()
			env.updateSlice(s)
			env.waitEvents(seen + 1)
			b.StartTimer()
			env.sync()
		}
	})
}

// tamperPortChains appends a rule to every port chain of env's proxier.
func tamperPortChains(b *testing.B, env *testEnv) {
	b.Helper()
	var text bytes.Buffer
	n := 0
	for _, sr := range env.p.rules.Services {
		for _, c := range sr.Chains {
			if n%1000 == 0 {
				text.WriteString("*nat\n")
			}
			fmt.Fprintf(&text, "-A %s -m comment --comment tampered -j RETURN\n", c.Name)
			n++
			if n%1000 == 0 {
				text.WriteString("COMMIT\n")
			}
		}
	}
	if n%1000 != 0 {
		text.WriteString("COMMIT\n")
	}
	if err := env.p.ipt.Restore(env.ctx, text.Bytes()); err != nil {
		b.Fatalf("tampering with the port chains: %v", err)
	}
}

// BenchmarkSyncFake measures the controller and renderer alone, over the
// iptables Fake.
func BenchmarkSyncFake(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchSync(b, iptablestest.NewFake(), n) })
	}
}

// BenchmarkIntegrationSyncReal measures the controller's syncs against real
// iptables-restore, both backends, each in a fresh network namespace.
func BenchmarkIntegrationSyncReal(b *testing.B) {
	testenv.NeedRootAndTools(b, "network namespaces, iptables", "ip", "iptables-nft-restore", "iptables-legacy-restore")
	for _, backend := range []iptables.Backend{iptables.BackendNFT, iptables.BackendLegacy} {
		for _, n := range []int{1000, 3000, 10000} {
			b.Run(fmt.Sprintf("%s/n=%d", backend, n), func(b *testing.B) {
				ns := leftover.Name(leftover.NetNSPrefix, fmt.Sprintf("bench-%s-%d", backend, n))
				local := &exec.LocalCmder{}
				if err := leftover.ReapNetNSOnce(context.Background()); err != nil {
					b.Logf("removing network namespaces of test processes that are gone: %v", err)
				}
				if err := local.Command("ip", "netns", "add", ns).Run(); err != nil {
					b.Fatalf("creating network namespace: %v", err)
				}
				b.Cleanup(func() { _ = local.Command("ip", "netns", "del", ns).Run() })
				benchSync(b, iptables.New(iptables.NetNSCmder(ns), backend), n)
			})
		}
	}
}
