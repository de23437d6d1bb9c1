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
// its pid and became `timeout LIMIT xtables-monitor --trace` (or nft
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

// startMonitor starts the trace reader and waits until it listens.
func (l *LiveTrace) startMonitor(ctx context.Context, tracer Tracer) (*monitor, error) {
	limit := l.Limit
	if limit <= 0 {
		limit = 20 * time.Second
	}
	m := &monitor{done: make(chan struct{})}
	script := fmt.Sprintf("echo $$; exec timeout %d %s", int(limit.Seconds()), tracer)
	// The reader's own context outlives ctx: stop ends it by its pid,
	// and its timeout on the node ends it in any case.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit+5*time.Second)
	var stderr bytes.Buffer
	go func() {
		defer cancel()
		defer close(m.done)
		cmd := l.Node.CommandContext(rctx, "sh", "-c", script)
		cmd.SetStdout(m)
		cmd.SetStderr(&stderr)
		m.err = cmd.Run()
	}()
	deadline := time.After(10 * time.Second)
	for {
		if _, ok := m.pid(); ok {
			break
		}
		select {
		case <-m.done:
			return nil, fmt.Errorf("starting %s on the node: %v: %s", tracer, m.err, strings.TrimSpace(stderr.String()))
		case <-deadline:
			m.stop(ctx, l)
			return nil, fmt.Errorf("starting %s on the node: no pid after 10s", tracer)
		case <-ctx.Done():
			m.stop(ctx, l)
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	// The reader subscribes to the kernel's trace events right after
	// exec; give it that moment before anything is traced.
	select {
	case <-time.After(500 * time.Millisecond):
	case <-ctx.Done():
		m.stop(ctx, l)
		return nil, ctx.Err()
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
