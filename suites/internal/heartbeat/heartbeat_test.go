package heartbeat

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	var beats atomic.Int32
	stop := Start(time.Millisecond, func(elapsed time.Duration) {
		if elapsed <= 0 {
			t.Errorf("beat with elapsed %v, want more than 0", elapsed)
		}
		beats.Add(1)
	})
	for i := 0; beats.Load() < 3 && i < 5000; i++ {
		time.Sleep(time.Millisecond)
	}
	stop()
	after := beats.Load()
	if after < 3 {
		t.Fatalf("%d beats, want at least 3", after)
	}
	time.Sleep(20 * time.Millisecond)
	if got := beats.Load(); got != after {
		t.Errorf("%d beats after stop returned, want none", got-after)
	}
}
