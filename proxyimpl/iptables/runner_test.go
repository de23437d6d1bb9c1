package iptables

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"
)

// exitStatus is an error with an exit code, like os/exec.ExitError.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }
func (e exitStatus) ExitCode() int { return int(e) }

// reply is what a recorded command does.
type reply struct {
	stdout, stderr string
	err            error
}

// recCmder records command lines and answers from a script keyed by the
// command line; unknown commands fail the test.
type recCmder struct {
	t       *testing.T
	replies map[string]reply
	calls   []string
	stdins  []string
}

func (c *recCmder) Command(name string, args ...string) exec.Cmd {
	return c.CommandContext(context.Background(), name, args...)
}

func (c *recCmder) CommandContext(_ context.Context, name string, args ...string) exec.Cmd {
	return &recCmd{c: c, line: strings.Join(append([]string{name}, args...), " "), args: append([]string{name}, args...)}
}

type recCmd struct {
	c              *recCmder
	line           string
	args           []string
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (r *recCmd) SetEnv(...string) exec.Cmd        { return r }
func (r *recCmd) SetStdin(in io.Reader) exec.Cmd   { r.stdin = in; return r }
func (r *recCmd) SetStdout(out io.Writer) exec.Cmd { r.stdout = out; return r }
func (r *recCmd) SetStderr(out io.Writer) exec.Cmd { r.stderr = out; return r }

func (r *recCmd) Run() error {
	r.c.calls = append(r.c.calls, r.line)
	if r.stdin != nil {
		b, _ := io.ReadAll(r.stdin)
		r.c.stdins = append(r.c.stdins, string(b))
	}
	rep, ok := r.c.replies[r.line]
	if !ok {
		r.c.t.Errorf("unexpected command %q", r.line)
		return &exec.RunError{Command: r.args, Inner: exitStatus(2)}
	}
	if r.stdout != nil {
		io.WriteString(r.stdout, rep.stdout)
	}
	if r.stderr != nil {
		io.WriteString(r.stderr, rep.stderr)
	}
	if rep.err != nil {
		return &exec.RunError{Command: r.args, Output: []byte(rep.stderr + rep.stdout), Inner: rep.err}
	}
	return nil
}

func TestRunnerCommands(t *testing.T) {
	ctx := context.Background()
	args := []string{"-m", "comment", "--comment", "svccheck portals", "-j", "SVCCHK-SERVICES"}
	tests := []struct {
		name    string
		backend Backend
		do      func(r *Runner) (any, error)
		replies map[string]reply
		want    []string
		result  any
		wantErr string
	}{{
		name: "restore", backend: BackendNFT,
		do:      func(r *Runner) (any, error) { return nil, r.Restore(ctx, []byte("*nat\nCOMMIT\n")) },
		replies: map[string]reply{"iptables-nft-restore --noflush -w 5": {}},
		want:    []string{"iptables-nft-restore --noflush -w 5"},
	}, {
		name: "restore failure carries command line and output", backend: BackendLegacy,
		do: func(r *Runner) (any, error) { return nil, r.Restore(ctx, []byte("*nat\nCOMMIT\n")) },
		replies: map[string]reply{"iptables-legacy-restore --noflush -w 5": {
			stderr: "iptables-restore: line 2 failed\n", err: exitStatus(1)}},
		want:    []string{"iptables-legacy-restore --noflush -w 5"},
		wantErr: "restoring rules: running iptables-legacy-restore --noflush -w 5: exit status 1: iptables-restore: line 2 failed",
	}, {
		name: "save with counters", backend: BackendNFT,
		do: func(r *Runner) (any, error) {
			b, err := r.Save(ctx, TableNAT, true)
			return string(b), err
		},
		replies: map[string]reply{"iptables-nft-save -t nat -c": {stdout: "*nat\nCOMMIT\n", stderr: "# Warning: legacy\n"}},
		want:    []string{"iptables-nft-save -t nat -c"},
		result:  "*nat\nCOMMIT\n",
	}, {
		name: "save every table", backend: BackendNFT,
		do: func(r *Runner) (any, error) {
			b, err := r.Save(ctx, TableAll, false)
			return string(b), err
		},
		replies: map[string]reply{"iptables-nft-save": {stdout: "*filter\nCOMMIT\n*nat\nCOMMIT\n"}},
		want:    []string{"iptables-nft-save"},
		result:  "*filter\nCOMMIT\n*nat\nCOMMIT\n",
	}, {
		name: "ensure chain that exists", backend: BackendLegacy,
		do: func(r *Runner) (any, error) { return nil, r.EnsureChain(ctx, TableNAT, "SVCCHK-SERVICES") },
		replies: map[string]reply{
			"iptables-legacy -w 5 -t nat -N SVCCHK-SERVICES": {stderr: "iptables: Chain already exists.", err: exitStatus(1)},
			"iptables-legacy -w 5 -t nat -S SVCCHK-SERVICES": {stdout: "-N SVCCHK-SERVICES\n"},
		},
		want: []string{"iptables-legacy -w 5 -t nat -N SVCCHK-SERVICES", "iptables-legacy -w 5 -t nat -S SVCCHK-SERVICES"},
	}, {
		name: "ensure chain fails for real", backend: BackendLegacy,
		do: func(r *Runner) (any, error) { return nil, r.EnsureChain(ctx, "bogus", "X") },
		replies: map[string]reply{
			"iptables-legacy -w 5 -t bogus -N X": {stderr: "can't initialize iptables table `bogus'", err: exitStatus(3)},
		},
		want:    []string{"iptables-legacy -w 5 -t bogus -N X"},
		wantErr: "can't initialize",
	}, {
		name: "ensure missing rule inserts it", backend: BackendNFT,
		do: func(r *Runner) (any, error) { return r.EnsureRule(ctx, TableNAT, ChainPrerouting, args...) },
		replies: map[string]reply{
			"iptables-nft -w 5 -t nat -C PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES": {err: exitStatus(1)},
			"iptables-nft -w 5 -t nat -I PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES": {},
		},
		want: []string{
			"iptables-nft -w 5 -t nat -C PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES",
			"iptables-nft -w 5 -t nat -I PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES",
		},
		result: false,
	}, {
		name: "ensure present rule does nothing", backend: BackendNFT,
		do: func(r *Runner) (any, error) { return r.EnsureRule(ctx, TableNAT, ChainPrerouting, args...) },
		replies: map[string]reply{
			"iptables-nft -w 5 -t nat -C PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES": {},
		},
		want:   []string{"iptables-nft -w 5 -t nat -C PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES"},
		result: true,
	}, {
		name: "delete missing rule is fine", backend: BackendNFT,
		do: func(r *Runner) (any, error) { return nil, r.DeleteRule(ctx, TableNAT, ChainPrerouting, args...) },
		replies: map[string]reply{
			"iptables-nft -w 5 -t nat -C PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES": {err: exitStatus(1)},
		},
		want: []string{"iptables-nft -w 5 -t nat -C PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES"},
	}, {
		name: "delete present rule", backend: BackendNFT,
		do: func(r *Runner) (any, error) { return nil, r.DeleteRule(ctx, TableNAT, ChainPrerouting, args...) },
		replies: map[string]reply{
			"iptables-nft -w 5 -t nat -C PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES": {},
			"iptables-nft -w 5 -t nat -D PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES": {},
		},
		want: []string{
			"iptables-nft -w 5 -t nat -C PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES",
			"iptables-nft -w 5 -t nat -D PREROUTING -m comment --comment svccheck portals -j SVCCHK-SERVICES",
		},
	}, {
		name: "check with a bad rule is an error", backend: BackendNFT,
		do: func(r *Runner) (any, error) { return r.EnsureRule(ctx, TableNAT, ChainPrerouting, "-j", "NOPE") },
		replies: map[string]reply{
			"iptables-nft -w 5 -t nat -C PREROUTING -j NOPE": {stderr: "Couldn't load target `NOPE'", err: exitStatus(2)},
		},
		want:    []string{"iptables-nft -w 5 -t nat -C PREROUTING -j NOPE"},
		result:  false,
		wantErr: "checking rule in nat PREROUTING: running iptables-nft -w 5 -t nat -C PREROUTING -j NOPE",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &recCmder{t: t, replies: tc.replies}
			got, err := tc.do(New(c, tc.backend))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Errorf("unexpected error: %v", err)
			}
			if diff := cmp.Diff(tc.want, c.calls); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.result, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunnerRestoreStdinAndErrorType(t *testing.T) {
	c := &recCmder{t: t, replies: map[string]reply{
		"iptables-nft-restore --noflush -w 5": {stderr: "boom", err: exitStatus(4)},
	}}
	data := "*filter\n:SVCCHK-FORWARD - [0:0]\nCOMMIT\n"
	err := New(c, BackendNFT).Restore(context.Background(), []byte(data))
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *CommandError", err)
	}
	if ce.ExitCode != 4 || ce.Output != "boom" || ce.Command != "iptables-nft-restore --noflush -w 5" {
		t.Errorf("CommandError = %+v", ce)
	}
	if diff := cmp.Diff([]string{data}, c.stdins); diff != "" {
		t.Errorf("stdin (-want +got):\n%s", diff)
	}
}

func TestDetectBackend(t *testing.T) {
	notFound := &osexec.Error{Name: "x", Err: osexec.ErrNotFound}
	rules := func(n int, extra string) reply {
		var b bytes.Buffer
		b.WriteString("# Generated\n*mangle\n" + extra + "COMMIT\n*nat\n")
		for i := 0; i < n; i++ {
			b.WriteString("-A PREROUTING -j RETURN\n")
		}
		b.WriteString("COMMIT\n")
		return reply{stdout: b.String()}
	}
	tests := []struct {
		name                       string
		nft, nft6, legacy, legacy6 reply
		want                       Backend
		wantErr                    string
	}{
		{name: "more legacy rules", nft: rules(1, ""), nft6: rules(0, ""), legacy: rules(3, ""), legacy6: rules(0, ""), want: BackendLegacy},
		{name: "more nft rules counting IPv6", nft: rules(1, ""), nft6: rules(3, ""), legacy: rules(3, ""), legacy6: rules(0, ""), want: BackendNFT},
		{name: "tie prefers nft", nft: rules(0, ""), nft6: rules(0, ""), legacy: rules(0, ""), legacy6: rules(0, ""), want: BackendNFT},
		{name: "kubelet hint in legacy wins", nft: rules(9, ""), nft6: rules(0, ""), legacy: rules(0, ":KUBE-IPTABLES-HINT - [0:0]\n"), legacy6: rules(0, ""), want: BackendLegacy},
		{name: "only legacy installed", nft: reply{err: notFound}, nft6: reply{err: notFound}, legacy: rules(0, ""), legacy6: reply{err: notFound}, want: BackendLegacy},
		{name: "legacy broken", nft: rules(0, ""), nft6: rules(0, ""), legacy: reply{stderr: "no kernel support", err: exitStatus(1)}, legacy6: reply{err: exitStatus(1)}, want: BackendNFT},
		{name: "not installed (127 from a container runtime)", nft: reply{err: exitStatus(127)}, nft6: reply{err: notFound}, legacy: reply{err: notFound}, legacy6: reply{err: notFound}, wantErr: "install iptables"},
		{name: "both broken", nft: reply{stderr: "denied", err: exitStatus(1)}, nft6: reply{err: notFound}, legacy: reply{stderr: "denied too", err: exitStatus(1)}, legacy6: reply{err: notFound}, wantErr: "denied too"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &recCmder{t: t, replies: map[string]reply{
				"iptables-nft-save": tc.nft, "ip6tables-nft-save": tc.nft6,
				"iptables-legacy-save": tc.legacy, "ip6tables-legacy-save": tc.legacy6,
			}}
			got, err := DetectBackend(context.Background(), c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("DetectBackend = %q, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("DetectBackend = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestChrootLookPath(t *testing.T) {
	root := t.TempDir()
	sbin := filepath.Join(root, "usr", "sbin")
	if err := os.MkdirAll(sbin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sbin, "xtables-nft-multi"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An absolute link that only resolves inside the chroot.
	if err := os.Symlink("/usr/sbin/xtables-nft-multi", filepath.Join(sbin, "iptables-nft-save")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sbin, "notexec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := chrootCmder{root: root}
	for name, want := range map[string]string{
		"iptables-nft-save": "/usr/sbin/iptables-nft-save",
		"xtables-nft-multi": "/usr/sbin/xtables-nft-multi",
		"/bin/true":         "/bin/true",
	} {
		if got, err := c.lookPath(name); err != nil || got != want {
			t.Errorf("lookPath(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"notexec", "iptables-legacy-save"} {
		_, err := c.lookPath(name)
		if !errors.Is(err, osexec.ErrNotFound) {
			t.Errorf("lookPath(%q) error = %v, want ErrNotFound", name, err)
		}
		runErr := c.Command(name).Run()
		if !notInstalled(runErr) {
			t.Errorf("running missing %q: error %v does not count as not installed", name, runErr)
		}
	}
}
