package leftover

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"
)

func TestPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"svcchk-1234-node1", 1234, true},
		{"svcchk-1234", 1234, true},
		{"svcchk-1234-5-client", 1234, true},
		{"svcchk-render-1234-5", 0, false},
		{"svcchk-0-x", 0, false},
		{"svcchk-0012-x", 0, false},
		{"svcchk--1-x", 0, false},
		{"other-1234-x", 0, false},
		{"svcchk1234", 0, false},
	} {
		pid, ok := PID(tc.name, "svcchk")
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("PID(%q) = %d, %t, want %d, %t", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}

// deadPID returns the id of a process that ran and is gone.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := osexec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no true to run: %v", err)
	}
	return cmd.Process.Pid
}

func TestIsLeftOver(t *testing.T) {
	dead, self, parent := deadPID(t), os.Getpid(), os.Getppid()
	for _, tc := range []struct {
		name   string
		ownPID bool
		want   bool
	}{
		{fmt.Sprintf("svcchk-%d-node1", dead), false, true},
		{fmt.Sprintf("svcchk-%d-node1", parent), false, false},
		{fmt.Sprintf("svcchk-%d-node1", self), false, false},
		{fmt.Sprintf("svcchk-%d-node1", self), true, true},
		{fmt.Sprintf("other-%d-node1", dead), false, false},
	} {
		if got := IsLeftOver(tc.name, "svcchk", tc.ownPID); got != tc.want {
			t.Errorf("IsLeftOver(%q, own %t) = %t, want %t", tc.name, tc.ownPID, got, tc.want)
		}
	}
}

func TestReapClusters(t *testing.T) {
	dead, parent := deadPID(t), os.Getppid()
	names := []string{
		fmt.Sprintf("svccheck-e2e-%d", dead),        // a killed run's: reaped
		fmt.Sprintf("svccheck-e2e-%d", parent),      // a running one's
		fmt.Sprintf("svccheck-e2e-suites-%d", dead), // another prefix
		fmt.Sprintf("svccheck-e2e-%d-kp", dead),     // a killed run's second cluster: reaped
		"svccheck-e2e",
		"svcchk-hostpods",
		fmt.Sprintf("svccheck-e2e-%d", os.Getpid()), // this process's: only before it creates one
	}
	var deleted []string
	del := func(name string) error {
		deleted = append(deleted, name)
		if strings.HasSuffix(name, fmt.Sprint(os.Getpid())) {
			return errors.New("boom")
		}
		return nil
	}
	reaped, err := ReapClusters(names, "svccheck-e2e", true, del)
	if diff := cmp.Diff([]string{names[0], names[3]}, reaped); diff != "" {
		t.Errorf("reaped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{names[0], names[3], names[6]}, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("ReapClusters error = %v, want the failed delete's", err)
	}
}

// TestIntegrationReapNetNS creates a namespace named after a gone process
// and one after a running one: only the first is reaped.
func TestIntegrationReapNetNS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("integration test: needs root for network namespaces")
	}
	local := exec.DefaultCmder
	gone := fmt.Sprintf("svcchk-%d-reaptest", deadPID(t))
	live := fmt.Sprintf("svcchk-%d-reaptest", os.Getppid())
	for _, ns := range []string{gone, live} {
		if err := local.Command("ip", "netns", "add", ns).Run(); err != nil {
			t.Fatalf("creating %s: %v", ns, err)
		}
		t.Cleanup(func() { _ = local.Command("ip", "netns", "delete", ns).Run() })
	}
	reaped, err := ReapNetNS(context.Background(), local, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(reaped, gone) || slices.Contains(reaped, live) {
		t.Errorf("reaped %v, want %s and not %s", reaped, gone, live)
	}
	out, err := exec.Output(local.Command("ip", "netns", "list"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), gone+" ") || strings.Contains(string(out), gone+"\n") {
		t.Errorf("%s still listed:\n%s", gone, out)
	}
	if !strings.Contains(string(out), live) {
		t.Errorf("%s was deleted:\n%s", live, out)
	}
}
