package agent

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestProbeFirstWaitsForEachTarget probes a target that answers at once, one
// that starts answering later, and one answered by the wrong hostname,
// which must never be reported.
func TestProbeFirstWaitsForEachTarget(t *testing.T) {
	now, _ := startServer(t, "scale-a-0")
	late := closedPort(t, "tcp")
	targets := ReadTargets(strings.NewReader(now + "\n\n" + late + " scale-a\n" + now + " scale-b\n"))

	listenAt := time.Now().Add(700 * time.Millisecond)
	go func() {
		time.Sleep(time.Until(listenAt))
		ln, err := net.Listen("tcp", late)
		if err != nil {
			t.Errorf("listening on %s: %v", late, err)
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go func() { _ = serveOn(ctx, "scale-a-1", ln, nil) }()
	}()

	got := map[string]FirstAnswer{}
	start := time.Now()
	opts := FirstOptions{Protocol: HTTP, Timeout: 500 * time.Millisecond, Interval: 100 * time.Millisecond, Budget: 3 * time.Second}
	if err := ProbeFirst(context.Background(), opts, targets, func(a FirstAnswer) { got[a.Target+" "+a.Hostname] = a }); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 3*time.Second || took > 5*time.Second {
		t.Errorf("ProbeFirst returned after %s, want the 3s budget (one target never answers as wanted)", took)
	}
	if len(got) != 2 {
		t.Fatalf("answers = %v, want the first and late targets only", got)
	}
	if a := got[now+" scale-a-0"]; a.Attempts != 1 || time.Unix(0, a.At).Before(start) {
		t.Errorf("immediate target: %+v", a)
	}
	a := got[late+" scale-a-1"]
	if at := time.Unix(0, a.At); a.Attempts < 3 || at.Before(listenAt) || at.After(listenAt.Add(time.Second)) {
		t.Errorf("late target answered %+v at %s, want after several attempts, within a second of %s", a, at, listenAt)
	}
}

// TestProbeFirstEndsWithItsInput returns as soon as the input is closed
// and every target answered, well before the budget.
func TestProbeFirstEndsWithItsInput(t *testing.T) {
	addr, _ := startServer(t, "b")
	start := time.Now()
	n := 0
	err := ProbeFirst(context.Background(), FirstOptions{Protocol: TCP, Budget: time.Minute}, ReadTargets(strings.NewReader(addr+"\n"+addr+"\n")), func(FirstAnswer) { n++ })
	if err != nil || n != 2 || time.Since(start) > 5*time.Second {
		t.Errorf("ProbeFirst = %v with %d answers after %s, want 2 at once", err, n, time.Since(start))
	}
	if err := ProbeFirst(context.Background(), FirstOptions{Protocol: "sctp"}, nil, nil); err == nil {
		t.Error("ProbeFirst accepted protocol sctp")
	}
}
