package iptables

import (
	"context"
	"errors"
	osexec "os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/testenv"
)

func TestNetNSCmderCommandLine(t *testing.T) {
	sh, err := osexec.LookPath("sh")
	if err != nil {
		testenv.Unavailable(t, "no sh on PATH: %v", err)
	}
	cmd, ok := NetNSCmder("node1").CommandContext(context.Background(), "sh", "-c", "true").(*exec.LocalCmd)
	if !ok {
		t.Fatalf("NetNSCmder returned %T, want *exec.LocalCmd", cmd)
	}
	want := []string{"ip", "netns", "exec", "node1", sh, "-c", "true"}
	if diff := cmp.Diff(want, cmd.Args); diff != "" {
		t.Errorf("command line (-want +got):\n%s", diff)
	}
	err = NetNSCmder("node1").Command("svccheck-no-such-tool").Run()
	if !notInstalled(err) || !errors.Is(innerError(err), osexec.ErrNotFound) {
		t.Errorf("missing tool: error %v, want ErrNotFound", err)
	}
}

func TestChrootCmderCommand(t *testing.T) {
	root := t.TempDir()
	cmd, ok := ChrootCmder(root).Command("/usr/sbin/iptables-nft-save", "-t", "nat").(*exec.LocalCmd)
	if !ok {
		t.Fatalf("ChrootCmder returned %T, want *exec.LocalCmd", cmd)
	}
	if cmd.SysProcAttr == nil || cmd.SysProcAttr.Chroot != root || cmd.Dir != "/" || cmd.Path != "/usr/sbin/iptables-nft-save" {
		t.Errorf("chroot command: path %q dir %q attr %+v", cmd.Path, cmd.Dir, cmd.SysProcAttr)
	}
	if diff := cmp.Diff([]string{"/usr/sbin/iptables-nft-save", "-t", "nat"}, cmd.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}
