package explain

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// monitor is a trace reader running on the node: a shell that printed
// its pid and runs `timeout LIMIT xtables-monitor --trace` (or nft
// monitor trace), so it ends by itself and can be stopped by its pid.
type monitor struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	err  error
	once sync.Once
}

// Write implements io.Writer for the reader's output.
func (m *monitor) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.Write(p)
}

func (m *monitor) text() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.String()
}

// pid returns the reader's pid once it printed it.
func (m *monitor) pid() (string, bool) {
	first, _, ok := strings.Cut(m.text(), "\n")
	if _, err := strconv.Atoi(first); !ok || err != nil {
		return "", false
	}
	return first, true
}

// output returns what the reader printed after its pid.
func (m *monitor) output() string {
	_, rest, _ := strings.Cut(m.text(), "\n")
	return rest
}

// readyMarker is what the reader's shell prints on stderr once the trace
// rule is in place.
const readyMarker = "svccheck-live: tracing"

// monitorScript is the reader's shell: it prints its pid, starts the
// reader under timeout, adds the trace rule once the reader listens, and
// removes the rule when the reader ends or the shell is told to stop.
func monitorScript(tracer Tracer, limit time.Duration, add, remove string) string {
	return fmt.Sprintf(`echo $$
remove_rule() { %s; }
timeout %d %s &
m=$!
trap 'kill $m 2>/dev/null; remove_rule; exit 0' TERM INT HUP
sleep 0.5
if ! %s >&2; then kill $m; remove_rule; exit 1; fi
echo %s >&2
wait $m
remove_rule`, remove, int(limit.Seconds()), tracer, add, shellQuote(readyMarker))
}

// startMonitor starts the trace reader's shell and waits until the rule
// is in place.
func (l *LiveTrace) startMonitor(ctx context.Context, tracer Tracer, add, remove string) (*monitor, error) {
	limit := l.Limit
	if limit <= 0 {
		limit = 20 * time.Second
	}
	m := &monitor{done: make(chan struct{})}
	// The shell's own context outlives ctx: stop ends it by its pid, and
	// its timeout on the node ends it in any case.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit+10*time.Second)
	errs := &monitor{}
	go func() {
		defer cancel()
		defer close(m.done)
		cmd := l.Node.CommandContext(rctx, "sh", "-c", monitorScript(tracer, limit, add, remove))
		cmd.SetStdout(m)
		cmd.SetStderr(errs)
		m.err = cmd.Run()
	}()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(errs.text(), readyMarker) {
		select {
		case <-m.done:
			return nil, fmt.Errorf("adding the trace rule and starting %s on the node: %w: %s", tracer, m.err, strings.TrimSpace(errs.text()))
		case <-deadline:
			m.stop(ctx, l)
			return nil, fmt.Errorf("starting %s on the node: not tracing after 20s", tracer)
		case <-ctx.Done():
			m.stop(ctx, l)
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return m, nil
}

// stop ends the reader by its pid (once) and waits a little for its
// output to arrive.
func (m *monitor) stop(ctx context.Context, l *LiveTrace) {
	m.once.Do(func() {
		if pid, ok := m.pid(); ok {
			kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_ = l.run(kctx, "sh", "-c", "kill "+pid)
			cancel()
		}
		select {
		case <-m.done:
		case <-time.After(3 * time.Second):
		}
	})
}
