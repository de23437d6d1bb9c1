package runner

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// tracker writes progress lines: which spec runs, how far along the run is
// and how long things take.
type tracker struct {
	w         io.Writer
	heartbeat time.Duration

	mu        sync.Mutex
	start     time.Time
	total     int
	done      int
	spec      string
	specBegan time.Time
	quit      chan struct{}
	stopOnce  sync.Once
}

func newTracker(w io.Writer, heartbeat time.Duration) *tracker {
	if heartbeat <= 0 {
		heartbeat = 30 * time.Second
	}
	return &tracker{w: w, heartbeat: heartbeat, quit: make(chan struct{})}
}

func (t *tracker) suiteStart(r types.Report) {
	t.mu.Lock()
	t.start = time.Now()
	t.total = r.PreRunStats.SpecsThatWillRun
	fmt.Fprintf(t.w, "running %d of %d specs\n", t.total, r.PreRunStats.TotalSpecs)
	t.mu.Unlock()
	go t.beat()
}

func (t *tracker) specStart(r types.SpecReport) {
	if r.State.Is(types.SpecStateSkipped | types.SpecStatePending) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.spec = specName(r)
	t.specBegan = time.Now()
	fmt.Fprintf(t.w, "[%d/%d %s] %s ...\n", t.done+1, t.total, since(t.start), t.spec)
}

func (t *tracker) specEnd(r types.SpecReport) {
	if r.State.Is(types.SpecStateSkipped|types.SpecStatePending) && r.RunTime == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done++
	t.spec = ""
	fmt.Fprintf(t.w, "[%d/%d %s] %s: %s in %s\n", t.done, t.total, since(t.start), specName(r), r.State, r.RunTime.Round(100*time.Millisecond))
}

func (t *tracker) beat() {
	tick := time.NewTicker(t.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-t.quit:
			return
		case <-tick.C:
			t.mu.Lock()
			// A spec that just started says so itself; only long ones get a beat.
			if t.spec != "" && time.Since(t.specBegan) >= t.heartbeat/2 {
				fmt.Fprintf(t.w, "[%d/%d %s] still running %s (%s)\n", t.done+1, t.total, since(t.start), t.spec, since(t.specBegan))
			}
			t.mu.Unlock()
		}
	}
}

func (t *tracker) stop() { t.stopOnce.Do(func() { close(t.quit) }) }

func specName(r types.SpecReport) string {
	parts := append(append([]string(nil), r.ContainerHierarchyTexts...), r.LeafNodeText)
	return strings.Join(parts, " ")
}

func since(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
