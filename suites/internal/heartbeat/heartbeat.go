// Package heartbeat calls back at a steady interval while long work runs,
// for "still running" progress lines.
package heartbeat

import (
	"sync"
	"time"
)

// Start calls beat with the time since start every interval until stop is
// called. stop returns once beat has returned for the last time, so no
// beat follows what the caller writes after stop.
func Start(interval time.Duration, beat func(elapsed time.Duration)) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				beat(time.Since(start))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
