package integration

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"testing"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/internal/testenv"
)

// TestMain turns the test binary into an echo server, a prober or a proxy
// (roleProxy) when it is re-executed as a child, and runs the tests
// otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(EnvChild) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		var err error
		if os.Getenv(EnvChild) == roleProxy {
			err = runProxyChild(ctx, os.Stdout)
		} else {
			err = RunChild(ctx, os.Stdout)
		}
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// requireNetNS skips the test unless it can build namespaces: not under
// -short, as root, with the tools it runs.
func requireNetNS(t testing.TB, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
	testenv.NeedRootAndTools(t, "network namespaces", append([]string{"ip", "sysctl"}, tools...)...)
}

// topologies numbers the topologies of this test run.
var topologies atomic.Int64

// newTopology builds a topology unique to this test run and deletes it
// when the test ends, pass or fail.
func newTopology(t testing.TB, nodes, podsPerNode int) *Topology {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("finding the test binary: %v", err)
	}
	ctx := context.Background()
	if err := leftover.ReapNetNSOnce(ctx); err != nil {
		t.Logf("removing network namespaces of test processes that are gone: %v", err)
	}
	topo, err := Build(ctx, exec.DefaultCmder, Config{
		Prefix:      leftover.Name(leftover.NetNSPrefix, fmt.Sprint(topologies.Add(1))) + "-",
		Nodes:       nodes,
		PodsPerNode: podsPerNode,
		Exe:         exe,
	})
	if err != nil {
		t.Fatalf("building topology: %v", err)
	}
	t.Cleanup(func() {
		if err := topo.Delete(context.Background()); err != nil {
			t.Errorf("deleting topology: %v", err)
		}
	})
	return topo
}
