package iptablestest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

const baseRestore = `*nat
:PREROUTING ACCEPT [0:0]
:SVCCHK-SERVICES - [0:0]
:SVCCHK-SVC-A - [0:0]
:SVCCHK-SVC-B - [0:0]
-A PREROUTING -j SVCCHK-SERVICES
-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j SVCCHK-SVC-A
-A SVCCHK-SERVICES -d 10.96.0.11/32 -p tcp -m tcp --dport 80 -j SVCCHK-SVC-B
-A SVCCHK-SVC-A -p tcp -j DNAT --to-destination 10.244.1.5:8080
-A SVCCHK-SVC-B -p tcp -j DNAT --to-destination 10.244.1.6:8080
COMMIT
`

func TestFakeRestoreAndSave(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	if err := f.Restore(ctx, []byte(baseRestore)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	// A --noflush sync that drops service B: SVCCHK-SVC-A is not declared
	// and must survive untouched.
	sync := `*nat
:SVCCHK-SERVICES - [0:0]
:SVCCHK-SVC-B - [0:0]
-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j SVCCHK-SVC-A
-X SVCCHK-SVC-B
COMMIT
`
	if err := f.Restore(ctx, []byte(sync)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	got, err := f.Save(ctx, iptables.TableNAT, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SVCCHK-SERVICES - [0:0]
:SVCCHK-SVC-A - [0:0]
-A PREROUTING -j SVCCHK-SERVICES
-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j SVCCHK-SVC-A
-A SVCCHK-SVC-A -p tcp -j DNAT --to-destination 10.244.1.5:8080
COMMIT
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Save (-want +got):\n%s", diff)
	}
	withCounters, err := f.Save(ctx, iptables.TableNAT, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(withCounters), "[0:0] -A SVCCHK-SVC-A -p tcp -j DNAT") {
		t.Errorf("Save with counters lacks rule counters:\n%s", withCounters)
	}
	if c := f.Calls(); c.Restore != 2 || c.Save != 2 {
		t.Errorf("Calls = %+v, want 2 restores and 2 saves", c)
	}
	if string(f.LastRestore()) != sync {
		t.Errorf("LastRestore = %q, want the last data", f.LastRestore())
	}
}

func TestFakeRestoreErrorsAreAtomic(t *testing.T) {
	tests := []struct {
		name, data, wantErr string
	}{
		{"delete missing rule", "*nat\n-D SVCCHK-SVC-A -j ACCEPT\nCOMMIT\n", "no such rule"},
		{"delete rule by bad number", "*nat\n-D SVCCHK-SVC-A 5\nCOMMIT\n", "no rule number 5"},
		{"delete referenced chain", "*nat\n:SVCCHK-SVC-A - [0:0]\n-X SVCCHK-SVC-A\nCOMMIT\n", "referenced"},
		{"delete non-empty chain", "*nat\n:SVCCHK-X - [0:0]\n-A SVCCHK-X -j ACCEPT\n-X SVCCHK-X\nCOMMIT\n", "not empty"},
		{"delete missing chain", "*nat\n-X SVCCHK-NOPE\nCOMMIT\n", "does not exist"},
		{"jump to missing chain", "*nat\n:SVCCHK-SVC-A - [0:0]\n-A SVCCHK-SVC-A -j SVCCHK-NOPE\nCOMMIT\n", "missing chain"},
		{"append to undeclared chain", "*nat\n-A SVCCHK-NOPE -j ACCEPT\nCOMMIT\n", "does not exist"},
		{"second table fails after first applied", "*filter\n:SVCCHK-F - [0:0]\nCOMMIT\n*nat\n-N SVCCHK-SVC-A\nCOMMIT\n", "already exists"},
		{"missing commit", "*nat\n:SVCCHK-X - [0:0]\n", "COMMIT expected"},
		{"policy on user chain", "*nat\n:SVCCHK-X ACCEPT [0:0]\nCOMMIT\n", "does not fit"},
		{"DNAT to a port without a protocol", "*nat\n:SVCCHK-SVC-A - [0:0]\n-A SVCCHK-SVC-A -j DNAT --to-destination 10.244.1.5:80\nCOMMIT\n", "needs -p"},
		{"DNAT outside nat", "*filter\n:SVCCHK-F - [0:0]\n-A SVCCHK-F -j DNAT --to-destination 1.2.3.4\nCOMMIT\n", "not valid in table filter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := NewFake()
			if err := f.Restore(ctx, []byte(baseRestore)); err != nil {
				t.Fatal(err)
			}
			before := f.Dump().String()
			err := f.Restore(ctx, []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Restore error = %v, want one containing %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(before, f.Dump().String()); diff != "" {
				t.Errorf("failed Restore changed the tables (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFakeFailNextRestore(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	boom := errors.New("boom")
	f.FailNextRestore(boom)
	if err := f.Restore(ctx, []byte(baseRestore)); !errors.Is(err, boom) {
		t.Fatalf("Restore error = %v, want %v", err, boom)
	}
	if f.Rules(iptables.TableNAT, "SVCCHK-SERVICES") != nil {
		t.Fatal("failed Restore created chains")
	}
	if err := f.Restore(ctx, []byte(baseRestore)); err != nil {
		t.Fatalf("second Restore: %v", err)
	}
	if got := len(f.Rules(iptables.TableNAT, "SVCCHK-SERVICES")); got != 2 {
		t.Errorf("SVCCHK-SERVICES has %d rules, want 2", got)
	}
}

func TestFakeEnsureAndDelete(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	if err := f.EnsureChain(ctx, iptables.TableNAT, "SVCCHK-SERVICES"); err != nil {
		t.Fatal(err)
	}
	if err := f.EnsureChain(ctx, iptables.TableNAT, "SVCCHK-SERVICES"); err != nil {
		t.Fatalf("second EnsureChain: %v", err)
	}
	args := []string{"-m", "comment", "--comment", "svccheck service portals", "-j", "SVCCHK-SERVICES"}
	for i, wantExisted := range []bool{false, true} {
		existed, err := f.EnsureRule(ctx, iptables.TableNAT, iptables.ChainPrerouting, args...)
		if err != nil || existed != wantExisted {
			t.Fatalf("EnsureRule #%d = %v, %v; want %v, nil", i+1, existed, err, wantExisted)
		}
	}
	want := []string{`-A PREROUTING -m comment --comment "svccheck service portals" -j SVCCHK-SERVICES`}
	if diff := cmp.Diff(want, f.Rules(iptables.TableNAT, iptables.ChainPrerouting)); diff != "" {
		t.Errorf("PREROUTING (-want +got):\n%s", diff)
	}
	if _, err := f.EnsureRule(ctx, iptables.TableNAT, iptables.ChainPrerouting, "-j", "SVCCHK-NOPE"); err == nil {
		t.Error("EnsureRule jumping to a missing chain succeeded")
	}
	for i := 0; i < 2; i++ {
		if err := f.DeleteRule(ctx, iptables.TableNAT, iptables.ChainPrerouting, args...); err != nil {
			t.Fatalf("DeleteRule #%d: %v", i+1, err)
		}
	}
	if err := f.DeleteRule(ctx, iptables.TableNAT, "SVCCHK-NOPE", args...); err != nil {
		t.Fatalf("DeleteRule from a missing chain: %v", err)
	}
	if got := f.Rules(iptables.TableNAT, iptables.ChainPrerouting); len(got) != 0 {
		t.Errorf("PREROUTING after DeleteRule = %q, want empty", got)
	}
	want2 := Calls{EnsureChain: 2, EnsureRule: 3, DeleteRule: 3}
	if diff := cmp.Diff(want2, f.Calls()); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
}
