package browser

import (
	"context"
	"fmt"
	"os"
	"time"
)

// LoadTiming is how long a page took to load in the browser, from its
// navigation timing.
type LoadTiming struct {
	// Bytes is the file's size.
	Bytes int64
	// DOMContentLoaded is when the page was parsed and its scripts ran;
	// Load is when the load event ended; both from the navigation start.
	DOMContentLoaded, Load time.Duration
	// Elements counts the page's elements.
	Elements int
}

// navigationJS reads the navigation timing, in milliseconds.
const navigationJS = `(() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, elements: document.getElementsByTagName("*").length};
})()`

// MeasureLoad opens the HTML file at path in a new headless Chromium and
// returns its load timing.
func MeasureLoad(ctx context.Context, path string) (LoadTiming, error) {
	st, err := os.Stat(path)
	if err != nil {
		return LoadTiming{}, fmt.Errorf("measuring %s: %w", path, err)
	}
	p, err := Open(ctx, path, "")
	if err != nil {
		return LoadTiming{}, err
	}
	defer p.Close()
	// WaitReady("body") can return before the load event: wait for it.
	for range 100 {
		if done, err := Eval[bool](p, `document.readyState === "complete" && performance.getEntriesByType("navigation")[0].loadEventEnd > 0`); err != nil || done {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	v, err := Eval[struct {
		DCL      float64 `json:"dcl"`
		Load     float64 `json:"load"`
		Elements int     `json:"elements"`
	}](p, navigationJS)
	if err != nil {
		return LoadTiming{}, err
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	return LoadTiming{Bytes: st.Size(), DOMContentLoaded: ms(v.DCL), Load: ms(v.Load), Elements: v.Elements}, nil
}
