package diag

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kind/pkg/exec"
)

// A node dump runs about fifteen commands on the node. Each docker exec
// (or pod exec) costs a quarter of a second or more on a loaded machine
// whatever the command does, so the commands known up front run in one
// shell on the node, one after the other, and their outputs are handed
// out as the dump asks for them.

// batchHeader starts the block of each command in a batch's output:
// "svccheck-batch INDEX EXIT STDOUT-BYTES STDERR-BYTES", then both outputs.
const batchHeader = "svccheck-batch"

// batchTimedOut is the exit status coreutils' timeout gives a command it
// stopped; batchKilled the one of a command it had to kill after that.
const (
	batchTimedOut = 124
	batchKilled   = 137
)

// batchScript returns the shell script running commands one after the
// other, each under timeout when the node has coreutils' timeout.
func batchScript(commands [][]string, timeout time.Duration) string {
	secs := max(1, int(timeout/time.Second))
	var b strings.Builder
	b.WriteString("d=$(mktemp -d) || exit 97\ntrap 'rm -rf \"$d\"' EXIT\n")
	fmt.Fprintf(&b, "T=; if command -v timeout >/dev/null 2>&1; then T='timeout -k 2 %d'; echo %s-timeout; fi\n", secs, batchHeader)
	for i, c := range commands {
		quoted := make([]string, len(c))
		for j, a := range c {
			quoted[j] = shellQuote(a)
		}
		fmt.Fprintf(&b, "$T %s >\"$d/o\" 2>\"$d/e\" </dev/null; rc=$?\n", strings.Join(quoted, " "))
		fmt.Fprintf(&b, "printf '%s %d %%d %%d %%d\\n' $rc $(wc -c <\"$d/o\") $(wc -c <\"$d/e\"); cat \"$d/o\" \"$d/e\"\n", batchHeader, i)
	}
	return b.String()
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// batchResult is one command's outcome in a batch.
type batchResult struct {
	stdout, stderr []byte
	err            error
}

// parseBatch reads a batch's output: the result of each command it got to,
// by index. Output cut short ends the parse; what was read is kept.
func parseBatch(out []byte, n int, timeout time.Duration) map[int]batchResult {
	res := map[int]batchResult{}
	r := bufio.NewReader(bytes.NewReader(out))
	withTimeout := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return res
		}
		f := strings.Fields(line)
		if len(f) == 1 && f[0] == batchHeader+"-timeout" {
			withTimeout = true
			continue
		}
		var nums [4]int
		if len(f) != 5 || f[0] != batchHeader {
			return res
		}
		for i := range nums {
			if nums[i], err = strconv.Atoi(f[i+1]); err != nil || nums[i] < 0 {
				return res
			}
		}
		idx, rc := nums[0], nums[1]
		stdout, stderr := make([]byte, nums[2]), make([]byte, nums[3])
		if _, err := io.ReadFull(r, stdout); err != nil || idx >= n {
			return res
		}
		if _, err := io.ReadFull(r, stderr); err != nil {
			return res
		}
		br := batchResult{stdout: stdout, stderr: stderr}
		switch {
		case withTimeout && (rc == batchTimedOut || rc == batchKilled):
			br.err = fmt.Errorf("timed out after %s: exit status %d", timeout, rc)
		case rc != 0:
			br.err = fmt.Errorf("exit status %d", rc)
		}
		res[idx] = br
	}
}

// prefetch runs commands on cmder in one batch and returns a Cmder that
// answers each of them once from the batch, and runs anything else (or a
// command the batch did not get to) on cmder. A node that cannot run the
// batch at all (no shell) leaves every command to cmder.
func prefetch(ctx context.Context, cmder exec.Cmder, timeout time.Duration, commands [][]string) exec.Cmder {
	bctx, cancel := context.WithTimeout(ctx, time.Duration(len(commands)+1)*timeout)
	defer cancel()
	var out bytes.Buffer
	cmd := cmder.CommandContext(bctx, "sh", "-c", batchScript(commands, timeout))
	cmd.SetStdout(&out)
	_ = cmd.Run() // what the batch got to is kept; the rest runs alone
	p := &prefetched{Cmder: cmder, answers: map[string]batchResult{}}
	for i, r := range parseBatch(out.Bytes(), len(commands), timeout) {
		p.answers[strings.Join(commands[i], "\x00")] = r
	}
	return p
}

// prefetched is a Cmder answering prefetched commands from their results.
type prefetched struct {
	exec.Cmder
	mu      sync.Mutex
	answers map[string]batchResult
}

// take returns, once, the prefetched result of command.
func (p *prefetched) take(command []string) (batchResult, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := strings.Join(command, "\x00")
	r, ok := p.answers[key]
	delete(p.answers, key)
	return r, ok
}

// CommandContext answers a prefetched command, or runs it on the node.
func (p *prefetched) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	argv := append([]string{name}, args...)
	if r, ok := p.take(argv); ok {
		return &answeredCmd{argv: argv, r: r}
	}
	return p.Cmder.CommandContext(ctx, name, args...)
}

// Command is CommandContext without a context.
func (p *prefetched) Command(name string, args ...string) exec.Cmd {
	return p.CommandContext(context.Background(), name, args...)
}

// answeredCmd replays a prefetched command's outputs and exit.
type answeredCmd struct {
	argv           []string
	r              batchResult
	stdout, stderr io.Writer
}

func (c *answeredCmd) SetEnv(...string) exec.Cmd      { return c }
func (c *answeredCmd) SetStdin(io.Reader) exec.Cmd    { return c }
func (c *answeredCmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *answeredCmd) SetStderr(w io.Writer) exec.Cmd { c.stderr = w; return c }

// Run writes the recorded outputs and returns the recorded failure.
func (c *answeredCmd) Run() error {
	for _, o := range []struct {
		w    io.Writer
		data []byte
	}{{c.stdout, c.r.stdout}, {c.stderr, c.r.stderr}} {
		if o.w != nil {
			if _, err := o.w.Write(o.data); err != nil {
				return &exec.RunError{Command: c.argv, Inner: err}
			}
		}
	}
	if c.r.err != nil {
		return c.r.err
	}
	return nil
}
