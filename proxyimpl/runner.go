package proxyimpl

import (
	"context"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// runner calls a sync function no more often than every minInterval, at
// least every maxInterval, and after a failure again after an exponential
// backoff (from retryBase up to retryMax). Requests that arrive while a run
// must wait are merged: a burst of N requests yields one run.
type runner struct {
	fn          func(ctx context.Context) error
	minInterval time.Duration
	maxInterval time.Duration
	retryBase   time.Duration
	retryMax    time.Duration
	clock       clock.Clock
	trigger     chan struct{}
	// waiting is true while the loop waits for a request or its timer,
	// its timer set for what comes next: what tests stepping a fake clock
	// wait for.
	waiting atomic.Bool
}

func newRunner(fn func(ctx context.Context) error, minInterval, maxInterval time.Duration, clk clock.Clock) *runner {
	retryBase := max(time.Second, minInterval)
	retryMax := max(retryBase, min(time.Minute, maxInterval))
	return &runner{
		fn:          fn,
		minInterval: minInterval,
		maxInterval: maxInterval,
		retryBase:   retryBase,
		retryMax:    retryMax,
		clock:       clk,
		trigger:     make(chan struct{}, 1),
	}
}

// request asks for a run as soon as the minimum interval allows. It never
// blocks.
func (r *runner) request() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// backoff returns the wait before retry number n (n >= 1).
func (r *runner) backoff(n int) time.Duration {
	d := r.retryBase
	for i := 1; i < n && d < r.retryMax; i++ {
		d *= 2
	}
	return min(d, r.retryMax)
}

// loop runs until ctx is done. The first request runs at once.
func (r *runner) loop(ctx context.Context) {
	timer := r.clock.NewTimer(r.maxInterval)
	defer timer.Stop()
	var (
		lastRun  time.Time // zero: never ran
		notUntil time.Time // earliest next run (min interval or backoff)
		pending  bool
		failures int
	)
	for {
		r.waiting.Store(true)
		select {
		case <-ctx.Done():
			return
		case <-r.trigger:
			pending = true
		case <-timer.C():
			// The periodic resync, a retry, or the end of a wait.
			pending = true
		}
		r.waiting.Store(false)
		if !pending {
			continue
		}
		now := r.clock.Now()
		if wait := notUntil.Sub(now); !lastRun.IsZero() && wait > 0 {
			timer.Stop()
			timer.Reset(wait)
			continue
		}
		pending = false
		err := r.fn(ctx)
		lastRun = r.clock.Now()
		timer.Stop()
		if err != nil {
			failures++
			wait := max(r.backoff(failures), r.minInterval)
			klog.FromContext(ctx).Error(err, "Sync failed", "failures", failures, "retryIn", wait)
			notUntil = lastRun.Add(wait)
			timer.Reset(wait)
			continue
		}
		failures = 0
		notUntil = lastRun.Add(r.minInterval)
		timer.Reset(r.maxInterval)
	}
}
