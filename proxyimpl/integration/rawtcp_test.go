package integration

import (
	"testing"
	"time"

	"github.com/svccheck/svccheck/internal/rawtcp"
)

// openCapture opens a raw TCP capture inside namespace ns, closed at test
// end.
func openCapture(t *testing.T, ns string) *rawtcp.Capture {
	t.Helper()
	var c *rawtcp.Capture
	err := inNS(ns, func() error {
		var err error
		c, err = rawtcp.Listen()
		return err
	})
	if err != nil {
		t.Fatalf("capturing in %s: %v", ns, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// find returns the first segment c receives within budget that match
// accepts; ok is false when none came.
func find(t *testing.T, c *rawtcp.Capture, budget time.Duration, match func(rawtcp.Segment) bool) (rawtcp.Segment, bool) {
	t.Helper()
	for deadline := time.Now().Add(budget); time.Now().Before(deadline); {
		s, ok, err := c.Next(time.Until(deadline))
		if err != nil {
			t.Fatal(err)
		}
		if ok && match(s) {
			return s, true
		}
	}
	return rawtcp.Segment{}, false
}

// inject sends s from inside namespace ns through a raw socket, routed
// like any packet of that namespace.
func inject(t *testing.T, ns string, s rawtcp.Segment) {
	t.Helper()
	if err := inNS(ns, func() error { return rawtcp.Send(s) }); err != nil {
		t.Fatalf("injecting from %s: %v", ns, err)
	}
}
