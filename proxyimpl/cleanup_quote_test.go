package proxyimpl

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
)

// netnsCount numbers the namespaces of netnsIPT.
var netnsCount atomic.Int64

// netnsIPT returns a runner of backend b in a fresh network namespace
// deleted when the test ends; it skips the test under -short, when not
// root or without the tools.
func netnsIPT(t *testing.T, b iptables.Backend) iptables.Interface {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("integration test needs root (network namespaces, iptables)")
	}
	for _, tool := range []string{"ip", "iptables-" + string(b) + "-restore", "iptables-" + string(b) + "-save"} {
		if _, err := osexec.LookPath(tool); err != nil {
			t.Skipf("integration test needs %s: apt-get install -y iptables iproute2", tool)
		}
	}
	ns := fmt.Sprintf("svcchk-px-%d-%d-%s", os.Getpid(), netnsCount.Add(1), b)
	local := &exec.LocalCmder{}
	if out, err := exec.CombinedOutputLines(local.Command("ip", "netns", "add", ns)); err != nil {
		t.Fatalf("creating network namespace %s: %v: %s", ns, err, out)
	}
	t.Cleanup(func() {
		if err := local.Command("ip", "netns", "del", ns).Run(); err != nil {
			t.Errorf("deleting network namespace %s: %v", ns, err)
		}
	})
	return iptables.New(iptables.NetNSCmder(ns), b)
}

// quotedCommentState holds svccheck's chains with a real jump into them,
// and foreign rules whose comments read like jumps to svccheck's chains.
const quotedCommentState = "*filter\n:SVCCHK-SERVICES - [0:0]\n" +
	"-A INPUT -m comment --comment \"svccheck service portals\" -j SVCCHK-SERVICES\n" +
	"-A INPUT -s 10.99.0.1/32 -m comment --comment \"not svccheck: -j SVCCHK-SERVICES\" -j ACCEPT\n" +
	"-A FORWARD -s 10.99.0.2/32 -m comment --comment \"a -g SVCCHK-FORWARD here\" -j DROP\n" +
	"COMMIT\n"

// checkCleanupKeepsQuotedComments runs Cleanup over quotedCommentState.
func checkCleanupKeepsQuotedComments(t *testing.T, ipt iptables.Interface) {
	ctx := context.Background()
	if err := ipt.Restore(ctx, []byte(quotedCommentState)); err != nil {
		t.Fatalf("seeding: %v", err)
	}
	res, err := Cleanup(ctx, ipt)
	if err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if res.Chains != 1 || res.Hooks != 1 {
		t.Errorf("Cleanup removed %d chains and %d hooks, want 1 and 1", res.Chains, res.Hooks)
	}
	saved, err := ipt.Save(ctx, iptables.TableFilter, false)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, line := range strings.Split(string(saved), "\n") {
		if strings.HasPrefix(line, "-A ") || strings.HasPrefix(line, ":SVCCHK") {
			rules = append(rules, line)
		}
	}
	want := []string{
		`-A INPUT -s 10.99.0.1/32 -m comment --comment "not svccheck: -j SVCCHK-SERVICES" -j ACCEPT`,
		`-A FORWARD -s 10.99.0.2/32 -m comment --comment "a -g SVCCHK-FORWARD here" -j DROP`,
	}
	if !slices.Equal(rules, want) {
		t.Errorf("filter rules after Cleanup:\n%s\nwant:\n%s", strings.Join(rules, "\n"), strings.Join(want, "\n"))
	}
}

// TestCleanupKeepsQuotedComments checks that Cleanup reads rules with
// their quoting: a foreign rule whose comment contains " -j SVCCHK-"
// survives, while a real jump into svccheck's chains goes.
func TestCleanupKeepsQuotedComments(t *testing.T) {
	checkCleanupKeepsQuotedComments(t, iptablestest.NewFake())
}

// TestIntegrationCleanupKeepsQuotedComments is
// TestCleanupKeepsQuotedComments over real iptables of each backend.
func TestIntegrationCleanupKeepsQuotedComments(t *testing.T) {
	for _, b := range []iptables.Backend{iptables.BackendNFT, iptables.BackendLegacy} {
		t.Run(string(b), func(t *testing.T) {
			checkCleanupKeepsQuotedComments(t, netnsIPT(t, b))
		})
	}
}
