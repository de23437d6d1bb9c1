package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/exec"
)

// outputCmder answers every command with out on stdout and err, recording
// the command lines.
type outputCmder struct {
	out   string
	err   error
	calls []string
}

var _ exec.Cmder = (*outputCmder)(nil)

func (o *outputCmder) Command(name string, args ...string) exec.Cmd {
	return o.CommandContext(context.Background(), name, args...)
}

func (o *outputCmder) CommandContext(_ context.Context, name string, args ...string) exec.Cmd {
	o.calls = append(o.calls, strings.Join(append([]string{name}, args...), " "))
	return &outputCmd{o: o}
}

type outputCmd struct {
	o      *outputCmder
	stdout io.Writer
}

func (c *outputCmd) Run() error {
	if c.stdout != nil {
		io.WriteString(c.stdout, c.o.out)
	}
	return c.o.err
}

func (c *outputCmd) SetEnv(...string) exec.Cmd      { return c }
func (c *outputCmd) SetStdin(io.Reader) exec.Cmd    { return c }
func (c *outputCmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *outputCmd) SetStderr(io.Writer) exec.Cmd   { return c }

func apiNode(name string, conds ...corev1.NodeCondition) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: conds}}
}

func TestNodeStates(t *testing.T) {
	since := metav1.NewTime(time.Date(2025, 5, 1, 12, 0, 5, 0, time.UTC))
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"}
	notReady := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse, LastTransitionTime: since,
		Reason: "KubeletNotReady", Message: "container runtime network not ready: cni plugin not initialized\n"}
	memory := corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}
	containers := []string{"demo-worker", "demo-control-plane", "demo-worker2"}
	for _, tc := range []struct {
		name     string
		apiNodes []corev1.Node
		listed   bool
		want     []nodeState
	}{
		{
			name:     "ready, not ready, unregistered",
			apiNodes: []corev1.Node{apiNode("demo-control-plane", memory, ready), apiNode("demo-worker", notReady)},
			listed:   true,
			want: []nodeState{
				{name: "demo-control-plane", ready: true, status: "Ready=True (KubeletReady: kubelet is posting ready status)"},
				{name: "demo-worker", status: "Ready=False since 12:00:05 (KubeletNotReady: container runtime network not ready: cni plugin not initialized)"},
				{name: "demo-worker2", status: "no Node object (kubelet has not registered)"},
			},
		},
		{
			name:     "no Ready condition yet",
			apiNodes: []corev1.Node{apiNode("demo-control-plane", memory)},
			listed:   true,
			want: []nodeState{
				{name: "demo-control-plane", status: "no Ready condition yet"},
				{name: "demo-worker", status: "no Node object (kubelet has not registered)"},
				{name: "demo-worker2", status: "no Node object (kubelet has not registered)"},
			},
		},
		{
			name: "listing nodes failed",
			want: []nodeState{
				{name: "demo-control-plane", status: "Node object unknown"},
				{name: "demo-worker", status: "Node object unknown"},
				{name: "demo-worker2", status: "Node object unknown"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nodeStates(containers, tc.apiNodes, tc.listed)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(nodeState{})); diff != "" {
				t.Errorf("nodeStates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteNodeStates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		states []nodeState
		want   string
	}{
		{name: "none", want: "\n  no nodes found"},
		{
			name: "journal and errors",
			states: []nodeState{
				{name: "demo-control-plane", ready: true, status: "Ready=True"},
				{name: "demo-worker", status: "Ready=False (KubeletNotReady: cni plugin not initialized)",
					journal: []string{"May 01 12:00:06 demo-worker kubelet[200]: E0501 network is not ready", strings.Repeat("x", diagLineMax+50)}},
				{name: "demo-worker2", status: "no Node object (kubelet has not registered)",
					journal: []string{"Failed to start kubelet"}, journalErr: errors.New("running journalctl: exit status 1")},
			},
			want: `
--- node demo-control-plane: Ready=True
--- node demo-worker: Ready=False (KubeletNotReady: cni plugin not initialized)
  last kubelet journal lines:
    May 01 12:00:06 demo-worker kubelet[200]: E0501 network is not ready
    ` + strings.Repeat("x", diagLineMax) + ` [...]
--- node demo-worker2: no Node object (kubelet has not registered)
  kubelet journal: running journalctl: exit status 1
  last kubelet journal lines:
    Failed to start kubelet`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			writeNodeStates(&b, tc.states)
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("writeNodeStates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKubeletJournal(t *testing.T) {
	var journal bytes.Buffer
	for i := 1; i <= 25; i++ {
		fmt.Fprintf(&journal, "line %d\n", i)
	}
	var want []string
	for i := 25 - kubeletJournalLines + 1; i <= 25; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	for _, tc := range []struct {
		name    string
		out     string
		err     error
		want    []string
		wantErr string
	}{
		{name: "last lines", out: journal.String(), want: want},
		{name: "empty journal", out: "-- No entries --\n", want: []string{"-- No entries --"}},
		{name: "failure keeps the output", out: "journalctl: command not found\n", err: errors.New("exit status 127"),
			want: []string{"journalctl: command not found"}, wantErr: "running journalctl -u kubelet --no-pager -n 20: exit status 127"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmder := &outputCmder{out: tc.out, err: tc.err}
			got, err := kubeletJournal(context.Background(), cmder)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kubeletJournal lines (-want +got):\n%s", diff)
			}
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tc.wantErr {
				t.Errorf("kubeletJournal error = %q, want %q", gotErr, tc.wantErr)
			}
			if diff := cmp.Diff([]string{"journalctl -u kubelet --no-pager -n 20"}, cmder.calls); diff != "" {
				t.Errorf("commands run (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBoundText(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", "\n--- node a: Ready=True", 100, "\n--- node a: Ready=True"},
		{"cut at a line end", "\nline one\nline two\nline three", 22, "\nline one\nline two\n  [... 11 more bytes of diagnosis left out]"},
		{"one long line", "abcdefghij", 4, "abcd\n  [... 6 more bytes of diagnosis left out]"},
		{"rune boundary", "ééé", 3, "é\n  [... 4 more bytes of diagnosis left out]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, boundText(tc.in, tc.max)); diff != "" {
				t.Errorf("boundText (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncateLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"longer than ten", 10, "longer tha [...]"},
		{"aéb", 2, "a [...]"},
	} {
		if got := truncateLine(tc.in, tc.max); got != tc.want {
			t.Errorf("truncateLine(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
