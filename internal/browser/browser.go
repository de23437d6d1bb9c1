// Package browser checks svccheck's report.html in a real browser:
// headless Chromium driven over the DevTools protocol (chromedp). Tests of
// the reports package and the end-to-end tests use it to check what a
// person opening the page sees: the failing specs, the filters, the links
// into the node tables.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium is returned when no Chromium binary is installed.
var ErrNoChromium = errors.New("no chromium binary found (install it: apt-get install chromium)")

// Chromium returns the path of the installed Chromium.
func Chromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Page is one report.html open in headless Chromium.
type Page struct {
	ctx    context.Context
	cancel context.CancelFunc
	// shots is where Screenshot writes; empty writes none.
	shots string
}

// Open opens the HTML file at path in a new headless Chromium, with a
// 1400x1000 window. Screenshots go into shots (created). Close ends it.
func Open(ctx context.Context, path, shots string) (*Page, error) {
	bin, err := Chromium()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.WindowSize(1400, 1000))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	cancel := func() { bcancel(); acancel() }
	tctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
	defer tcancel()
	// The browser lives as long as the context of its first action: start
	// it on bctx, then load the page under a timeout.
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		return nil, fmt.Errorf("starting chromium: %w", err)
	}
	if err := chromedp.Do(tctx, chromedp.Navigate("file://"+abs), chromedp.WaitReady("body")); err != nil {
		cancel()
		return nil, fmt.Errorf("loading %s in chromium: %w", abs, err)
	}
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			cancel()
			return nil, fmt.Errorf("creating %s: %w", shots, err)
		}
	}
	return &Page{ctx: bctx, cancel: cancel, shots: shots}, nil
}

// Close ends the browser.
func (p *Page) Close() { p.cancel() }

// Do runs chromedp actions on the page, bounded to 30 s.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Eval evaluates a JavaScript expression on the page into a T.
func Eval[T any](p *Page, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		return v, fmt.Errorf("evaluating %q: %w", firstLine(expr), err)
	}
	return v, nil
}

// Screenshot writes the visible part of the page as <shots>/<name>.png.
func (p *Page) Screenshot(name string) error {
	if p.shots == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	return os.WriteFile(filepath.Join(p.shots, name+".png"), png, 0o644)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + "..."
	}
	return s
}
