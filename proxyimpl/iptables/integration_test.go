package iptables_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/testenv"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
)

// requireTools skips the test unless it runs as root with the tools.
func requireTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped under -short")
	}
	testenv.NeedRootAndTools(t, "network namespaces, iptables",
		"ip", "iptables-legacy-restore", "iptables-nft-restore", "iptables-legacy-save", "iptables-nft-save")
}

// newNetNS creates a network namespace removed when the test ends.
func newNetNS(t *testing.T, suffix string) string {
	t.Helper()
	name := fmt.Sprintf("svcchk-ipt-%d-%s", os.Getpid(), suffix)
	local := &exec.LocalCmder{}
	if err := local.Command("ip", "netns", "add", name).Run(); err != nil {
		t.Fatalf("creating network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := local.Command("ip", "netns", "del", name).Run(); err != nil {
			t.Errorf("deleting network namespace %s: %v", name, err)
		}
	})
	return name
}

// normalised parses save output and prints it back, dropping comments.
func normalised(t *testing.T, save []byte) string {
	t.Helper()
	d, err := ipsave.Parse(save)
	if err != nil {
		t.Fatalf("parsing save output: %v\n%s", err, save)
	}
	return d.String()
}

// sameAsFake checks that the real tables and the Fake's tables agree.
func sameAsFake(t *testing.T, ctx context.Context, r iptables.Interface, f *iptablestest.Fake, when string) {
	t.Helper()
	for _, table := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
		real, err := r.Save(ctx, table, false)
		if err != nil {
			t.Fatal(err)
		}
		fake, err := f.Save(ctx, table, false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(normalised(t, fake), normalised(t, real)); diff != "" {
			t.Errorf("%s: table %s, Fake vs real iptables (-fake +real):\n%s", when, table, diff)
		}
	}
}

// TestIntegrationRunner drives real iptables-restore/-save of each backend
// in a fresh network namespace, and checks the Fake agrees with them.
func TestIntegrationRunner(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	ruleset, err := os.ReadFile("ipsave/testdata/ruleset.restore")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []iptables.Backend{iptables.BackendLegacy, iptables.BackendNFT} {
		t.Run(string(b), func(t *testing.T) {
			r := iptables.New(iptables.NetNSCmder(newNetNS(t, string(b))), b)
			f := iptablestest.NewFake()
			for _, x := range []iptables.Interface{r, f} {
				if err := x.Restore(ctx, ruleset); err != nil {
					t.Fatalf("%T Restore: %v", x, err)
				}
			}
			sameAsFake(t, ctx, r, f, "after first restore")

			// A --noflush sync: empty one service chain and delete another.
			sync := []byte("*nat\n:SVCCHK-SVC-LOCAL000000000000 - [0:0]\n:SVCCHK-SERVICES - [0:0]\n" +
				"-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j SVCCHK-SVC-ABCDEF0123456789\n" +
				"-X SVCCHK-SVC-LOCAL000000000000\nCOMMIT\n")
			for _, x := range []iptables.Interface{r, f} {
				if err := x.Restore(ctx, sync); err != nil {
					t.Fatalf("%T Restore sync: %v", x, err)
				}
			}
			sameAsFake(t, ctx, r, f, "after sync")

			// Restores the real tools refuse fail in the Fake too, and
			// change nothing in either.
			for _, tc := range badRestores {
				data := []byte("*nat\n" + tc.text + "COMMIT\n")
				if b == iptables.BackendNFT && tc.nftAccepts {
					// iptables-nft is laxer than legacy here; the Fake
					// follows legacy. Check that, then undo it.
					if err := r.Restore(ctx, data); err != nil {
						t.Errorf("iptables-nft now refuses to %s: %v", tc.name, err)
					}
					if err := r.Restore(ctx, []byte("*nat\n-X SVCCHK-T\nCOMMIT\n")); err != nil {
						t.Fatal(err)
					}
					if err := f.Restore(ctx, data); err == nil {
						t.Errorf("Fake Restore to %s succeeded", tc.name)
					}
					continue
				}
				for _, x := range []iptables.Interface{r, f} {
					if err := x.Restore(ctx, data); err == nil {
						t.Errorf("%T Restore to %s succeeded", x, tc.name)
					}
				}
				sameAsFake(t, ctx, r, f, "after failing to "+tc.name)
			}

			ensureAndDelete(t, ctx, r)
			ensureAndDelete(t, ctx, f)
			sameAsFake(t, ctx, r, f, "after ensure and delete")
		})
	}
}

// badRestores are nat restores the real tools refuse (iptables-nft
// accepts some of them).
var badRestores = []struct {
	name, text string
	nftAccepts bool
}{
	{"delete a referenced chain", ":SVCCHK-SVC-ABCDEF0123456789 - [0:0]\n-X SVCCHK-SVC-ABCDEF0123456789\n", false},
	{"delete a non-empty chain", ":SVCCHK-T - [0:0]\n-A SVCCHK-T -j RETURN\n-X SVCCHK-T\n", false},
	{"delete a missing chain", "-X SVCCHK-NOPE\n", false},
	{"delete a missing rule", "-D SVCCHK-HAIRPIN -j ACCEPT\n", false},
	{"jump to a missing chain", ":SVCCHK-T - [0:0]\n-A SVCCHK-T -j SVCCHK-NOPE\n", false},
	{"DNAT to a port without -p", ":SVCCHK-T - [0:0]\n-A SVCCHK-T -j DNAT --to-destination 10.244.1.5:80\n", false},
	{"create an existing chain", "-N SVCCHK-HAIRPIN\n", false},
	{"append to a missing chain", "-A SVCCHK-NOPE -j RETURN\n", false},
	{"set a policy on a user chain", ":SVCCHK-T ACCEPT [0:0]\n", true},
}

func ensureAndDelete(t *testing.T, ctx context.Context, x iptables.Interface) {
	t.Helper()
	for i := 0; i < 2; i++ {
		if err := x.EnsureChain(ctx, iptables.TableFilter, "SVCCHK-EXTRA"); err != nil {
			t.Fatalf("%T EnsureChain #%d: %v", x, i+1, err)
		}
	}
	args := []string{"-m", "comment", "--comment", "svccheck extra", "-j", "SVCCHK-EXTRA"}
	for i, want := range []bool{false, true} {
		got, err := x.EnsureRule(ctx, iptables.TableFilter, iptables.ChainInput, args...)
		if err != nil || got != want {
			t.Fatalf("%T EnsureRule #%d = %v, %v; want %v", x, i+1, got, err, want)
		}
	}
	keep := []string{"-p", "udp", "-m", "udp", "--dport", "53", "-j", "SVCCHK-EXTRA"}
	if _, err := x.EnsureRule(ctx, iptables.TableFilter, iptables.ChainInput, keep...); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := x.DeleteRule(ctx, iptables.TableFilter, iptables.ChainInput, args...); err != nil {
			t.Fatalf("%T DeleteRule #%d: %v", x, i+1, err)
		}
	}
	out, err := x.Save(ctx, iptables.TableFilter, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "svccheck extra") || !strings.Contains(string(out), "-A INPUT -p udp -m udp --dport 53 -j SVCCHK-EXTRA") {
		t.Errorf("%T filter table after EnsureRule/DeleteRule:\n%s", x, out)
	}
}

// TestIntegrationDetectBackend fills one backend then the other in a
// fresh namespace and checks detection follows the rule counts.
func TestIntegrationDetectBackend(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	cmder := iptables.NetNSCmder(newNetNS(t, "detect"))
	detect := func(want iptables.Backend, when string) {
		t.Helper()
		got, err := iptables.DetectBackend(ctx, cmder)
		if err != nil || got != want {
			t.Errorf("%s: DetectBackend = %q, %v; want %q", when, got, err, want)
		}
	}
	detect(iptables.BackendNFT, "empty namespace")
	rules := func(n int) []byte {
		var b strings.Builder
		b.WriteString("*filter\n:SVCCHK-X - [0:0]\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "-A SVCCHK-X -p tcp -m tcp --dport %d -j ACCEPT\n", 1000+i)
		}
		b.WriteString("COMMIT\n")
		return []byte(b.String())
	}
	if err := iptables.New(cmder, iptables.BackendLegacy).Restore(ctx, rules(3)); err != nil {
		t.Fatal(err)
	}
	detect(iptables.BackendLegacy, "3 legacy rules")
	if err := iptables.New(cmder, iptables.BackendNFT).Restore(ctx, rules(5)); err != nil {
		t.Fatal(err)
	}
	detect(iptables.BackendNFT, "3 legacy and 5 nft rules")
}

// TestIntegrationChrootCmder runs the host's own iptables-save through a
// chroot into "/" (read only) and a missing tool through it.
func TestIntegrationChrootCmder(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	c := iptables.ChrootCmder("/")
	out, err := iptables.New(c, iptables.BackendNFT).Save(ctx, iptables.TableFilter, false)
	if err != nil {
		t.Fatalf("Save through chroot: %v", err)
	}
	if !strings.Contains(string(out), "*filter") {
		t.Errorf("Save through chroot printed:\n%s", out)
	}
	if err := c.CommandContext(ctx, "svccheck-no-such-tool").Run(); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("running a missing tool in the chroot: %v", err)
	}
}
