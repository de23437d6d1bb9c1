package nodeimage

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lineRecorder records each Write as one entry, notes Writes that overlap,
// and closes heartbeat when the first "still running" line for a stage
// arrives.
type lineRecorder struct {
	inFlight   atomic.Int32
	overlapped atomic.Bool

	mu         sync.Mutex
	writes     []string
	heartbeats map[string]chan struct{}
}

func newLineRecorder(stages ...string) *lineRecorder {
	r := &lineRecorder{heartbeats: map[string]chan struct{}{}}
	for _, s := range stages {
		r.heartbeats[s] = make(chan struct{})
	}
	return r
}

func (r *lineRecorder) Write(p []byte) (int, error) {
	if r.inFlight.Add(1) > 1 {
		r.overlapped.Store(true)
	}
	defer r.inFlight.Add(-1)
	// Widen the window in which an unserialized Write would overlap.
	time.Sleep(50 * time.Microsecond)
	line := string(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, line)
	for name, ch := range r.heartbeats {
		if strings.HasPrefix(line, name+" ") && strings.Contains(line, "still running") {
			delete(r.heartbeats, name)
			close(ch)
		}
	}
	return len(p), nil
}

// waitHeartbeat returns a stage function that blocks until the stage called
// name has written a heartbeat line, or fails after a generous bound.
func (r *lineRecorder) waitHeartbeat(t *testing.T, name string) func(context.Context) error {
	r.mu.Lock()
	ch := r.heartbeats[name]
	r.mu.Unlock()
	return func(ctx context.Context) error {
		select {
		case <-ch:
			return nil
		case <-time.After(10 * time.Second):
			t.Errorf("stage %s: no heartbeat line within 10s", name)
			return errors.New("no heartbeat")
		}
	}
}

// lines returns the recorded lines of the stage called name with durations
// replaced by D and repeated heartbeat lines collapsed into one.
func (r *lineRecorder) lines(name string) []string {
	durations := regexp.MustCompile(`(in |\()[0-9][0-9a-zµ.]*`)
	spaces := regexp.MustCompile(` +`)
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, w := range r.writes {
		if !strings.HasPrefix(w, name+" ") {
			continue
		}
		l := spaces.ReplaceAllString(durations.ReplaceAllString(w, "${1}D"), " ")
		if len(out) > 0 && out[len(out)-1] == l {
			continue
		}
		out = append(out, l)
	}
	return out
}

func TestStageProgressLines(t *testing.T) {
	const name = "build Kubernetes v1.37.0"
	for _, tc := range []struct {
		name    string
		every   time.Duration
		fn      func(t *testing.T, r *lineRecorder) func(context.Context) error
		want    []string
		wantErr string
	}{
		{
			name:  "quick stage",
			every: time.Hour,
			fn: func(*testing.T, *lineRecorder) func(context.Context) error {
				return func(context.Context) error { return nil }
			},
			want: []string{name + " started\n", name + " done in D\n"},
		},
		{
			name:  "failed stage",
			every: time.Hour,
			fn: func(*testing.T, *lineRecorder) func(context.Context) error {
				return func(context.Context) error { return errors.New("exit status 2") }
			},
			want:    []string{name + " started\n", name + " failed in D\n"},
			wantErr: name + ": exit status 2",
		},
		{
			name:  "long stage",
			every: time.Millisecond,
			fn: func(t *testing.T, r *lineRecorder) func(context.Context) error {
				return r.waitHeartbeat(t, name)
			},
			want: []string{name + " started\n", name + " still running (D)\n", name + " done in D\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newLineRecorder(name)
			b := &builder{opts: Options{Progress: r}, heartbeatEvery: tc.every}
			err := b.stages(context.Background(), step{name, tc.fn(t, r)})
			if tc.wantErr == "" && err != nil {
				t.Fatalf("stages: %v", err)
			}
			if tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("stages error = %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, r.lines(name)); diff != "" {
				t.Errorf("progress lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConcurrentStagesWriteWholeLines(t *testing.T) {
	names := []string{"build etcd v3.7.0", "node root filesystem", "kube-proxy root filesystem"}
	r := newLineRecorder(names...)
	b := &builder{opts: Options{Progress: r}, heartbeatEvery: time.Millisecond}
	var wg sync.WaitGroup
	for _, n := range names {
		fn := r.waitHeartbeat(t, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.stages(context.Background(), step{n, fn}); err != nil {
				t.Errorf("stages(%s): %v", n, err)
			}
		}()
	}
	wg.Wait()
	if r.overlapped.Load() {
		t.Errorf("progress Writes overlapped")
	}
	for _, w := range r.writes {
		if strings.Count(w, "\n") != 1 || !strings.HasSuffix(w, "\n") {
			t.Errorf("Write %q is not exactly one line", w)
		}
	}
	for _, n := range names {
		want := []string{n + " started\n", n + " still running (D)\n", n + " done in D\n"}
		if diff := cmp.Diff(want, r.lines(n)); diff != "" {
			t.Errorf("progress lines of %s (-want +got):\n%s", n, diff)
		}
	}
}
