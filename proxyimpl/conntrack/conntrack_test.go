package conntrack

import (
	"context"
	"errors"
	"io"
	"net/netip"
	osexec "os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/testenv"
)

// recordingCmder records command lines and fails each with the configured
// output and inner error (when set).
type recordingCmder struct {
	lines  [][]string
	output string
	inner  error
}

func (r *recordingCmder) Command(name string, args ...string) exec.Cmd {
	return r.CommandContext(context.Background(), name, args...)
}

func (r *recordingCmder) CommandContext(_ context.Context, name string, args ...string) exec.Cmd {
	line := append([]string{name}, args...)
	r.lines = append(r.lines, line)
	return &recordedCmd{line: line, r: r}
}

type recordedCmd struct {
	line []string
	r    *recordingCmder
}

func (c *recordedCmd) Run() error {
	if c.r.inner == nil {
		return nil
	}
	return &exec.RunError{Command: c.line, Output: []byte(c.r.output), Inner: c.r.inner}
}
func (c *recordedCmd) SetEnv(...string) exec.Cmd    { return c }
func (c *recordedCmd) SetStdin(io.Reader) exec.Cmd  { return c }
func (c *recordedCmd) SetStdout(io.Writer) exec.Cmd { return c }
func (c *recordedCmd) SetStderr(io.Writer) exec.Cmd { return c }

func TestExecCommandLines(t *testing.T) {
	vip4 := netip.MustParseAddr("10.96.0.10")
	ep4 := netip.MustParseAddr("10.244.1.5")
	vip6 := netip.MustParseAddr("fd00:10:96::a")
	ep6 := netip.MustParseAddr("fd00:10:244::5")
	tests := []struct {
		name string
		call func(Interface) error
		want []string
	}{
		{"service port v4", func(i Interface) error { return i.ClearServicePort(context.Background(), vip4, 53) },
			[]string{"conntrack", "-D", "-p", "udp", "-f", "ipv4", "--orig-dst", "10.96.0.10", "--orig-port-dst", "53"}},
		{"service port v6", func(i Interface) error { return i.ClearServicePort(context.Background(), vip6, 53) },
			[]string{"conntrack", "-D", "-p", "udp", "-f", "ipv6", "--orig-dst", "fd00:10:96::a", "--orig-port-dst", "53"}},
		{"node port", func(i Interface) error { return i.ClearNodePort(context.Background(), 30053, false) },
			[]string{"conntrack", "-D", "-p", "udp", "-f", "ipv4", "--orig-port-dst", "30053"}},
		{"nat v4", func(i Interface) error { return i.ClearNAT(context.Background(), vip4, ep4) },
			[]string{"conntrack", "-D", "-p", "udp", "-f", "ipv4", "--orig-dst", "10.96.0.10", "--dst-nat", "10.244.1.5"}},
		{"node port nat v6", func(i Interface) error { return i.ClearNodePortNAT(context.Background(), 30053, ep6) },
			[]string{"conntrack", "-D", "-p", "udp", "-f", "ipv6", "--orig-port-dst", "30053", "--dst-nat", "fd00:10:244::5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmder := &recordingCmder{}
			if err := tt.call(New(cmder)); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if diff := cmp.Diff([][]string{tt.want}, cmder.lines); diff != "" {
				t.Errorf("command lines (-want +got):\n%s", diff)
			}
			fake := NewFake()
			if err := tt.call(fake); err != nil {
				t.Fatalf("fake: unexpected error: %v", err)
			}
			if diff := cmp.Diff([][]string{tt.want[1:]}, fake.Calls()); diff != "" {
				t.Errorf("fake calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecErrors(t *testing.T) {
	vip := netip.MustParseAddr("10.96.0.10")
	tests := []struct {
		name         string
		output       string
		inner        error
		wantErr      bool
		wantNotFound bool
	}{
		{name: "nothing to delete", output: "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n", inner: errors.New("exit status 1")},
		{name: "missing binary", inner: osexec.ErrNotFound, wantErr: true, wantNotFound: true},
		{name: "missing in chroot", output: "chroot: failed to run command 'conntrack': No such file or directory\n", inner: errors.New("exit status 127"), wantErr: true, wantNotFound: true},
		{name: "other failure", output: "conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n", inner: errors.New("exit status 1"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New(&recordingCmder{output: tt.output, inner: tt.inner}).ClearServicePort(context.Background(), vip, 53)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrNotFound); got != tt.wantNotFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v (err %v)", got, tt.wantNotFound, err)
			}
		})
	}
}

// TestIntegrationExec runs the real conntrack tool with filters that match
// no flow (a loopback address nothing talks to), checking that "nothing
// deleted" is not reported as an error.
func TestIntegrationExec(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test skipped under -short")
	}
	testenv.NeedRootAndTools(t, "conntrack table", "conntrack")
	ct := New(&exec.LocalCmder{})
	ctx := context.Background()
	unused := netip.MustParseAddr("127.0.0.253")
	if err := ct.ClearServicePort(ctx, unused, 9); err != nil {
		t.Errorf("ClearServicePort: %v", err)
	}
	if err := ct.ClearNAT(ctx, unused, netip.MustParseAddr("127.0.0.252")); err != nil {
		t.Errorf("ClearNAT: %v", err)
	}
}
