package agent

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
	"time"
)

// FirstOptions says what ProbeFirst does.
type FirstOptions struct {
	// Protocol is how to talk to the targets; TCP cannot tell who
	// answered, so a target's Want applies to HTTP and UDP only.
	Protocol Protocol
	// Timeout bounds each attempt.
	Timeout time.Duration
	// Interval is the time between the starts of two attempts at one
	// target.
	Interval time.Duration
	// Budget bounds the whole run, from its start.
	Budget time.Duration
	// Parallel bounds the attempts in flight.
	Parallel int
}

// FirstTarget is a target of ProbeFirst: one input line, "host:port" or
// "host:port want".
type FirstTarget struct {
	Target string
	// Want, when set, is the prefix the answering hostname must have for
	// the answer to count.
	Want string
}

// FirstAnswer is one output line of ProbeFirst (`svccheck agent
// probe-first`): when a target first answered as wanted.
type FirstAnswer struct {
	Target   string `json:"target"`
	Hostname string `json:"hostname,omitempty"`
	// At is when the answer came, in Unix nanoseconds.
	At int64 `json:"at"`
	// Attempts is the number of attempts it took.
	Attempts int `json:"attempts"`
}

// ReadTargets reads FirstTargets from r, one a line, sending each to the
// returned channel as it comes, and closes it at the end of r.
func ReadTargets(r io.Reader) <-chan FirstTarget {
	ch := make(chan FirstTarget)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 0 {
				continue
			}
			t := FirstTarget{Target: f[0]}
			if len(f) > 1 {
				t.Want = f[1]
			}
			ch <- t
		}
	}()
	return ch
}

// ProbeFirst probes every target received from targets, again every
// opts.Interval, until it first answers as wanted, and calls answer then,
// one call at a time. It returns when targets is closed and every target
// answered, or when the budget is spent; unanswered targets are not
// reported.
func ProbeFirst(ctx context.Context, opts FirstOptions, targets <-chan FirstTarget, answer func(FirstAnswer)) error {
	if _, err := ParseProtocol(string(opts.Protocol)); err != nil {
		return err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Interval <= 0 {
		opts.Interval = 250 * time.Millisecond
	}
	if opts.Parallel < 1 {
		opts.Parallel = 64
	}
	if opts.Budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Budget)
		defer cancel()
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		sem = make(chan struct{}, opts.Parallel)
	)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case t, ok := <-targets:
			if !ok {
				wg.Wait()
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if a, ok := probeUntil(ctx, opts, t, sem); ok {
					mu.Lock()
					defer mu.Unlock()
					answer(a)
				}
			}()
		}
	}
}

// probeUntil probes t until it answers as wanted or ctx ends.
func probeUntil(ctx context.Context, opts FirstOptions, t FirstTarget, sem chan struct{}) (FirstAnswer, bool) {
	po := ProbeOptions{Target: t.Target, Protocol: opts.Protocol, Count: 1, Timeout: opts.Timeout}
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return FirstAnswer{}, false
		}
		a := attempt(ctx, po)
		at := time.Now()
		<-sem
		if a.OK && strings.HasPrefix(a.Hostname, t.Want) {
			return FirstAnswer{Target: t.Target, Hostname: a.Hostname, At: at.UnixNano(), Attempts: n}, true
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return FirstAnswer{}, false
		}
	}
}
