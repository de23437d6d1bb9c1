package app

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/testenv"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

func TestProxyFlagErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"masquerade bit too big", []string{"proxy", "--masquerade-bit", "32"}, "--masquerade-bit 32"},
		{"masquerade bit negative", []string{"proxy", "--masquerade-bit=-1"}, "--masquerade-bit -1"},
		{"bad cluster CIDR", []string{"proxy", "--cluster-cidr", "10.244.0.0"}, `--cluster-cidr "10.244.0.0"`},
		{"bad node IP", []string{"proxy", "--node-ip", "10.0.0.1", "--node-ip", "node-a"}, `--node-ip "node-a"`},
		{"bad backend", []string{"proxy", "--iptables-backend", "ebtables"}, "--iptables-backend"},
		{"sync period below minimum", []string{"proxy", "--min-sync-period", "10s", "--sync-period", "5s"}, "--sync-period 5s"},
		{"zero min sync period", []string{"proxy", "--min-sync-period", "0s"}, "--min-sync-period 0s"},
		{"bad metrics address", []string{"proxy", "--metrics-bind-address", "10269"}, "--metrics-bind-address"},
		{"unknown flag", []string{"proxy", "--no-such-flag"}, "unknown flag"},
		{"cleanup bad backend", []string{"proxy", "cleanup", "--iptables-backend", "x"}, "--iptables-backend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if got := ExitCode(err); got != ExitUsage {
				t.Errorf("exit code %d, want %d", got, ExitUsage)
			}
		})
	}
}

func TestProxyHostnameDefault(t *testing.T) {
	o := &proxyOptions{masqBit: 14, minSyncPeriod: time.Second, syncPeriod: time.Hour, apiTimeout: time.Second, backend: "auto", hostname: "  Node-A.Example "}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	if o.hostname != "node-a.example" {
		t.Errorf("hostname = %q, want it trimmed and lowercased", o.hostname)
	}
	o = &proxyOptions{masqBit: 14, minSyncPeriod: time.Second, syncPeriod: time.Hour, apiTimeout: time.Second, backend: "auto"}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	h, _ := os.Hostname()
	if o.hostname != strings.ToLower(h) {
		t.Errorf("default hostname = %q, want %q", o.hostname, strings.ToLower(h))
	}
}

// TestProxyUnreachableAPIServer points the proxy at a loopback port
// nothing listens on: it must give up after --api-timeout with an error
// that names the server, not hang.
func TestProxyUnreachableAPIServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://` + addr + `", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err = Run(context.Background(), []string{"proxy", "--kubeconfig", kubeconfig, "--hostname-override", "node-a",
		"--api-timeout", "2s", "--healthz-bind-address", "", "--metrics-bind-address", ""}, &stdout, &stderr)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("gave up after %v, want about 2s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "https://"+addr) || !strings.Contains(err.Error(), "check") {
		t.Fatalf("error = %v, want one naming https://%s and what to check", err, addr)
	}
	if got := ExitCode(err); got != ExitUsage {
		t.Errorf("exit code %d, want %d", got, ExitUsage)
	}
}

// TestIntegrationProxyCleanup runs the cleanup command's code in a fresh
// network namespace holding svccheck's chains and someone else's rules,
// on every installed backend.
func TestIntegrationProxyCleanup(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test skipped under -short")
	}
	testenv.NeedRootAndTools(t, "network namespaces, iptables", "ip", "iptables-nft-restore", "iptables-legacy-restore")
	ns := fmt.Sprintf("svcchk-app-%d", os.Getpid())
	local := &exec.LocalCmder{}
	if err := local.Command("ip", "netns", "add", ns).Run(); err != nil {
		t.Fatalf("creating network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := local.Command("ip", "netns", "del", ns).Run(); err != nil {
			t.Errorf("deleting network namespace %s: %v", ns, err)
		}
	})
	cmder := iptables.NetNSCmder(ns)
	ctx := context.Background()
	seed := "*nat\n:SVCCHK-SERVICES - [0:0]\n:SVCCHK-SVC-ABC - [0:0]\n-A SVCCHK-SERVICES -j SVCCHK-SVC-ABC\n" +
		"-A PREROUTING -m comment --comment \"svccheck service portals\" -j SVCCHK-SERVICES\n-A PREROUTING -j ACCEPT\nCOMMIT\n" +
		"*filter\n:SVCCHK-FORWARD - [0:0]\n-A FORWARD -j SVCCHK-FORWARD\n-A FORWARD -s 10.9.0.0/16 -j DROP\nCOMMIT\n"
	for _, b := range []iptables.Backend{iptables.BackendNFT, iptables.BackendLegacy} {
		if err := iptables.New(cmder, b).Restore(ctx, []byte(seed)); err != nil {
			t.Fatalf("seeding %s: %v", b, err)
		}
	}
	var out bytes.Buffer
	if err := runProxyCleanup(ctx, cmder, "", "auto", &out); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	want := "legacy: removed 3 chains and 2 jump rules\nnft: removed 3 chains and 2 jump rules\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	for _, b := range []iptables.Backend{iptables.BackendNFT, iptables.BackendLegacy} {
		for _, table := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
			saved, err := iptables.New(cmder, b).Save(ctx, table, false)
			if err != nil {
				t.Fatal(err)
			}
			s := string(saved)
			if strings.Contains(s, "SVCCHK") {
				t.Errorf("%s %s still holds svccheck's rules:\n%s", b, table, s)
			}
			keep := map[iptables.Table]string{iptables.TableNAT: "-A PREROUTING -j ACCEPT", iptables.TableFilter: "-A FORWARD -s 10.9.0.0/16 -j DROP"}[table]
			if !strings.Contains(s, keep) {
				t.Errorf("%s %s lost %q:\n%s", b, table, keep, s)
			}
		}
	}
}
