package diag

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/kind/pkg/exec"
)

// countingCmder counts the commands it starts.
type countingCmder struct {
	exec.Cmder
	n atomic.Int32
}

func (c *countingCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	c.n.Add(1)
	return c.Cmder.CommandContext(ctx, name, args...)
}

func TestPrefetchAnswersLikeTheCommands(t *testing.T) {
	commands := [][]string{
		{"printf", `a\nsvccheck-batch 0 0 1 1\n\001 it's "quoted" $HOME`},
		{"sh", "-c", "echo out; echo err >&2; exit 3"},
		{"printf", ""},
		{"sh", "-c", "printf 'no newline'"},
	}
	local := &countingCmder{Cmder: &exec.LocalCmder{}}
	p := prefetch(context.Background(), local, 5*time.Second, commands)
	if got := local.n.Load(); got != 1 {
		t.Fatalf("prefetch started %d commands, want 1 batch", got)
	}
	for _, c := range commands {
		got := run(context.Background(), p, 5*time.Second, "f", c...)
		want := run(context.Background(), &exec.LocalCmder{}, 5*time.Second, "f", c...)
		if !bytes.Equal(got.content(), want.content()) {
			t.Errorf("%q from the batch:\n%q\nrun alone:\n%q", c, got.content(), want.content())
		}
	}
	if got := local.n.Load(); got != 1 {
		t.Errorf("answering the batch's commands started %d commands, want none after the batch", got-1)
	}
	// Each is answered once; a command outside the batch runs on the node.
	if r := run(context.Background(), p, 5*time.Second, "f", "printf", "x"); string(r.stdout) != "x" || local.n.Load() != 2 {
		t.Errorf("a command outside the batch: %+v, %d commands started", r, local.n.Load())
	}
}

func TestPrefetchTimesOutOneCommand(t *testing.T) {
	commands := [][]string{{"sleep", "30"}, {"printf", "after"}}
	start := time.Now()
	p := prefetch(context.Background(), &exec.LocalCmder{}, time.Second, commands)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the batch took %s with a 1s timeout per command", d)
	}
	slow := run(context.Background(), p, time.Second, "f", commands[0]...)
	if slow.err == nil || !strings.Contains(slow.err.Error(), "timed out after 1s") {
		t.Errorf("sleep 30 in the batch: err %v, want a timeout", slow.err)
	}
	if after := run(context.Background(), p, time.Second, "f", commands[1]...); after.err != nil || string(after.stdout) != "after" {
		t.Errorf("the command after the slow one: %+v", after)
	}
}

func TestPrefetchWithoutShellRunsEachCommand(t *testing.T) {
	f := newFakeCmder(map[string]answer{"ip addr": {stdout: "1: lo\n"}})
	p := prefetch(context.Background(), f, time.Second, [][]string{{"ip", "addr"}})
	r := run(context.Background(), p, time.Second, FileIPAddr, "ip", "addr")
	if r.err != nil || string(r.stdout) != "1: lo\n" {
		t.Errorf("ip addr after a failed batch: %+v", r)
	}
	if len(f.ran) != 2 || !strings.HasPrefix(f.ran[0], "sh -c ") || f.ran[1] != "ip addr" {
		t.Errorf("ran %q, want the batch then ip addr alone", f.ran)
	}
}
