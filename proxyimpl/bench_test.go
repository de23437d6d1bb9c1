package proxyimpl

import (
	"fmt"
	"os"
	osexec "os/exec"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
)

// benchObjects returns n ClusterIP Services with one slice of two
// endpoints each.
func benchObjects(n int) ([]runtime.Object, []*discoveryv1.EndpointSlice) {
	var objs []runtime.Object
	var slices []*discoveryv1.EndpointSlice
	for i := range n {
		name := fmt.Sprintf("svc-%05d", i)
		ip := fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)
		s := slice("bench", name, name+"-1", 8080, v1.ProtocolTCP,
			endpoint{fmt.Sprintf("10.244.%d.%d", i/250, i%250+1), testNode},
			endpoint{fmt.Sprintf("10.245.%d.%d", i/250, i%250+1), "node-b"})
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
	b.Run(fmt.Sprintf("full/services=%d", n), func(b *testing.B) {
		for range b.N {
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

// BenchmarkSyncFake measures the controller and renderer alone, over the
// iptables Fake.
func BenchmarkSyncFake(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchSync(b, iptablestest.NewFake(), n) })
	}
}

// BenchmarkIntegrationSyncReal measures syncs against real
// iptables-restore (nft backend) in a fresh network namespace.
func BenchmarkIntegrationSyncReal(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (network namespaces, iptables)")
	}
	if _, err := osexec.LookPath("iptables-nft-restore"); err != nil {
		b.Skip("needs iptables-nft-restore")
	}
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			ns := fmt.Sprintf("svcchk-bench-%d-%d", os.Getpid(), n)
			local := &exec.LocalCmder{}
			if err := local.Command("ip", "netns", "add", ns).Run(); err != nil {
				b.Fatalf("creating network namespace: %v", err)
			}
			b.Cleanup(func() { _ = local.Command("ip", "netns", "del", ns).Run() })
			benchSync(b, iptables.New(iptables.NetNSCmder(ns), iptables.BackendNFT), n)
		})
	}
}
