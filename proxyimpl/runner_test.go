package proxyimpl

import (
	"context"
	"errors"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// runRecorder is a runner function that reports each call on a channel
// and fails the calls listed in fail (1-based).
type runRecorder struct {
	calls chan time.Time
	n     int
	fail  map[int]bool
	clock *clocktesting.FakeClock
}

func (rr *runRecorder) fn(context.Context) error {
	rr.n++
	n := rr.n
	rr.calls <- rr.clock.Now()
	if rr.fail[n] {
		return errors.New("injected failure")
	}
	return nil
}

func (rr *runRecorder) next(t *testing.T) time.Time {
	t.Helper()
	select {
	case at := <-rr.calls:
		return at
	case <-time.After(10 * time.Second):
		t.Fatal("runner did not run")
		return time.Time{}
	}
}

// settle waits until the loop has taken every request and waits on its
// re-armed timer.
func settle(t *testing.T, r *runner, clk *clocktesting.FakeClock) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	// A run's last step re-arms the timer: until the loop waits again, a
	// step of the clock may fall between the timer's stop and its reset.
	for len(r.trigger) > 0 || !clk.HasWaiters() || !r.waiting.Load() {
		if time.Now().After(deadline) {
			t.Fatal("runner loop did not settle")
		}
		time.Sleep(time.Millisecond)
	}
}

func startRunner(t *testing.T, fail map[int]bool) (*runner, *runRecorder, *clocktesting.FakeClock) {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	rr := &runRecorder{calls: make(chan time.Time, 100), fail: fail, clock: clk}
	r := newRunner(rr.fn, time.Second, time.Hour, clk)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.loop(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r, rr, clk
}

func TestRunnerBatchesBurst(t *testing.T) {
	r, rr, clk := startRunner(t, nil)
	start := clk.Now()
	r.request()
	if at := rr.next(t); !at.Equal(start) {
		t.Fatalf("first run at %v, want at once (%v)", at, start)
	}
	for range 50 {
		r.request()
	}
	settle(t, r, clk)
	clk.Step(999 * time.Millisecond)
	settle(t, r, clk)
	if len(rr.calls) != 0 {
		t.Fatal("runner ran before the minimum interval elapsed")
	}
	clk.Step(time.Millisecond)
	if at := rr.next(t); at.Sub(start) != time.Second {
		t.Errorf("second run %v after the first, want 1s", at.Sub(start))
	}
	settle(t, r, clk)
	if len(rr.calls) != 0 || rr.n != 2 {
		t.Errorf("a burst of 50 requests gave %d runs, want 1", rr.n-1)
	}
}

func TestRunnerPeriodic(t *testing.T) {
	r, rr, clk := startRunner(t, nil)
	start := clk.Now()
	r.request()
	rr.next(t)
	settle(t, r, clk)
	clk.Step(time.Hour)
	if at := rr.next(t); at.Sub(start) != time.Hour {
		t.Errorf("periodic run %v after the first, want 1h", at.Sub(start))
	}
}

func TestRunnerRetriesWithBackoff(t *testing.T) {
	r, rr, clk := startRunner(t, map[int]bool{1: true, 2: true, 3: true})
	r.request()
	prev := rr.next(t)
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		settle(t, r, clk)
		// A request during the backoff does not cut it short.
		r.request()
		settle(t, r, clk)
		clk.Step(want - time.Millisecond)
		settle(t, r, clk)
		if len(rr.calls) != 0 {
			t.Fatalf("retry ran before its backoff of %v", want)
		}
		clk.Step(time.Millisecond)
		at := rr.next(t)
		if got := at.Sub(prev); got != want {
			t.Errorf("retry after %v, want %v", got, want)
		}
		prev = at
	}
	// The fourth run succeeded: the next run is periodic again.
	settle(t, r, clk)
	clk.Step(time.Hour)
	if at := rr.next(t); at.Sub(prev) != time.Hour {
		t.Errorf("run after recovery %v later, want 1h", at.Sub(prev))
	}
}

func TestRunnerBackoffCapped(t *testing.T) {
	r := newRunner(nil, time.Second, time.Hour, clocktesting.NewFakeClock(time.Now()))
	if got := r.backoff(20); got != time.Minute {
		t.Errorf("backoff(20) = %v, want 1m", got)
	}
}
