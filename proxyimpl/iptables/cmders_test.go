package iptables

import (
	"bytes"
	"context"
	"errors"
	osexec "os/exec"
	"slices"
	"strings"
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
	cmd, ok := NetNSCmder("node1").CommandContext(context.Background(), "sh", "-c", "true").(*localCmd)
	if !ok {
		t.Fatalf("NetNSCmder returned %T, want *localCmd", cmd)
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
	cmd, ok := ChrootCmder(root).Command("/usr/sbin/iptables-nft-save", "-t", "nat").(*localCmd)
	if !ok {
		t.Fatalf("ChrootCmder returned %T, want *localCmd", cmd)
	}
	if cmd.SysProcAttr == nil || cmd.SysProcAttr.Chroot != root || cmd.Dir != "/" || cmd.Path != "/usr/sbin/iptables-nft-save" {
		t.Errorf("chroot command: path %q dir %q attr %+v", cmd.Path, cmd.Dir, cmd.SysProcAttr)
	}
	if diff := cmp.Diff([]string{"/usr/sbin/iptables-nft-save", "-t", "nat"}, cmd.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}

func TestLocalCmderOutput(t *testing.T) {
	ctx := context.Background()
	script := "echo out; echo err >&2; exit 3"

	// Writers of the caller's get everything, and the RunError no copy.
	var stdout, stderr bytes.Buffer
	err := LocalCmder().CommandContext(ctx, "sh", "-c", script).SetStdout(&stdout).SetStderr(&stderr).Run()
	rerr := exec.RunErrorForError(err)
	if rerr == nil {
		t.Fatalf("Run = %v, want a RunError", err)
	}
	if stdout.String() != "out\n" || stderr.String() != "err\n" || len(rerr.Output) != 0 {
		t.Errorf("stdout %q, stderr %q, RunError output %q; want out, err and nothing", stdout.String(), stderr.String(), rerr.Output)
	}
	if got := exitCode(err); got != 3 {
		t.Errorf("exit code = %d, want 3", got)
	}
	if !slices.Equal(rerr.Command, []string{"sh", "-c", script}) {
		t.Errorf("RunError command = %q", rerr.Command)
	}

	// Without writers, the RunError holds the combined output.
	rerr = exec.RunErrorForError(LocalCmder().Command("sh", "-c", script).Run())
	if rerr == nil || string(rerr.Output) != "out\nerr\n" {
		t.Errorf("RunError without writers = %+v, want output \"out\\nerr\\n\"", rerr)
	}

	// With stdout alone set, stderr goes to the RunError.
	stdout.Reset()
	rerr = exec.RunErrorForError(LocalCmder().Command("sh", "-c", script).SetStdout(&stdout).Run())
	if rerr == nil || string(rerr.Output) != "err\n" || stdout.String() != "out\n" {
		t.Errorf("RunError with stdout set = %+v (stdout %q), want output \"err\\n\"", rerr, stdout.String())
	}

	// Success, stdin and env pass through.
	stdout.Reset()
	if err := LocalCmder().Command("sh", "-c", `cat; echo "$X"`).SetEnv("X=y").SetStdin(strings.NewReader("in\n")).SetStdout(&stdout).Run(); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "in\ny\n" {
		t.Errorf("stdout = %q, want \"in\\ny\\n\"", stdout.String())
	}
}
