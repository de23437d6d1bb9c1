package diag

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/internal/testenv"
	"github.com/svccheck/svccheck/proxy"
)

// netnsCmder runs commands inside a network namespace of the local machine.
type netnsCmder struct {
	local exec.Cmder
	ns    string
}

func (n netnsCmder) Command(name string, args ...string) exec.Cmd {
	return n.CommandContext(context.Background(), name, args...)
}

func (n netnsCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	return n.local.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.ns, name}, args...)...)
}

func mustRun(t *testing.T, cmder exec.Cmder, args ...string) {
	t.Helper()
	if out, err := exec.CombinedOutputLines(cmder.Command(args[0], args[1:]...)); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, strings.Join(out, "\n"))
	}
}

// TestIntegrationCollectNodeNetns dumps a scratch network namespace with the
// real tools: rules added there must show up, with their backend, and the
// proxy endpoints nobody serves must be recorded as failed, saying why.
func TestIntegrationCollectNodeNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
	testenv.NeedRootAndTools(t, "network namespaces", "ip", "iptables-nft", "iptables-nft-save", "conntrack", "curl", "sysctl")
	local := &exec.LocalCmder{}
	ns := leftover.Name(leftover.NetNSPrefix, "diag")
	if err := leftover.ReapNetNSOnce(context.Background()); err != nil {
		t.Logf("removing network namespaces of test processes that are gone: %v", err)
	}
	mustRun(t, local, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = local.Command("ip", "netns", "del", ns).Run() })
	node := netnsCmder{local: local, ns: ns}
	mustRun(t, node, "ip", "link", "set", "lo", "up")
	mustRun(t, node, "iptables-nft", "-t", "nat", "-N", "SVCCHK-SVC-DIAGTEST")
	mustRun(t, node, "iptables-nft", "-t", "nat", "-A", "PREROUTING", "-m", "comment", "--comment", "diag test", "-j", "SVCCHK-SVC-DIAGTEST")
	legacy := local.Command("ip", "netns", "exec", ns, "iptables-legacy", "-t", "nat", "-A", "OUTPUT", "-j", "ACCEPT").Run() == nil

	out := t.TempDir()
	c := &Collector{Proxy: proxy.Proxy{Mode: proxy.Svccheck}}
	res, err := c.CollectNode(context.Background(), Node{Name: "scratch", Cmder: node}, out)
	if err != nil {
		t.Fatalf("CollectNode: %v", err)
	}
	dir := filepath.Join(out, "nodes", "scratch")
	nat := readFile(t, filepath.Join(dir, FileIPTablesNAT))
	for _, want := range []string{"# svccheck: backend nft\n", ":SVCCHK-SVC-DIAGTEST - [0:0]", `-A PREROUTING -m comment --comment "diag test" -j SVCCHK-SVC-DIAGTEST`} {
		if !strings.Contains(nat, want) {
			t.Errorf("nat dump lacks %q:\n%s", want, nat)
		}
	}
	if !strings.Contains(nat, "[0:0] -A PREROUTING") {
		t.Errorf("nat dump has no packet counters (-c):\n%s", nat)
	}
	if legacy {
		if got := readFile(t, filepath.Join(dir, "iptables-legacy-nat.txt")); !strings.Contains(got, "-A OUTPUT -j ACCEPT") {
			t.Errorf("legacy nat dump lacks the legacy rule:\n%s", got)
		}
	} else {
		t.Logf("iptables-legacy does not work here; the two-backend case is covered by unit tests only")
	}
	if got := readFile(t, filepath.Join(dir, FileSysctl)); !strings.Contains(got, "net.ipv4.ip_forward = ") {
		t.Errorf("sysctl dump lacks ip_forward:\n%s", got)
	}
	if got := readFile(t, filepath.Join(dir, FileIPAddr)); !strings.Contains(got, "lo:") {
		t.Errorf("ip addr dump lacks lo:\n%s", got)
	}
	// Nothing serves svccheck's metrics in the namespace: the file must say
	// how curl failed.
	metrics := readFile(t, filepath.Join(dir, FileMetrics))
	if !strings.Contains(metrics, "# svccheck: FAILED: exit status 7") || !strings.Contains(metrics, "127.0.0.1") {
		t.Errorf("metrics dump with nothing listening does not explain itself:\n%s", metrics)
	}
	if !contains(res.Failed, FileMetrics) || !contains(res.Failed, FileProxyLog) {
		t.Errorf("Failed = %v, want metrics and proxy log among them", res.Failed)
	}
	t.Logf("dump of a scratch namespace: %d files in %s, failed: %v", len(res.Files), res.Duration, res.Failed)
	conntrack := readFile(t, filepath.Join(dir, FileConntrack))
	t.Logf("conntrack.txt:\n%s", conntrack)
}
