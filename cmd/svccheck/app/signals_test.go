package app

import (
	"bytes"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestSignalContext(t *testing.T) {
	var stderr syncBuffer
	exited := make(chan struct{})
	ctx, stop := signalContext(&stderr, func() { close(exited) })
	defer stop()

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first SIGINT did not cancel the context")
	}
	select {
	case <-exited:
		t.Fatal("the first SIGINT ended the process")
	case <-time.After(100 * time.Millisecond):
	}
	if !strings.Contains(stderr.String(), "cleaning up") {
		t.Errorf("after the first SIGINT stderr says %q, want it to say svccheck is cleaning up", stderr.String())
	}

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the second SIGINT did not end the process")
	}
	if !strings.Contains(stderr.String(), "without cleaning up") {
		t.Errorf("after the second SIGINT stderr says %q, want it to say what is left", stderr.String())
	}
}

func TestSignalContextStop(t *testing.T) {
	var stderr syncBuffer
	ctx, stop := signalContext(&stderr, func() { t.Error("exit called after stop") })
	stop()
	if ctx.Err() == nil {
		t.Error("stop did not cancel the context")
	}
}

// syncBuffer is a bytes.Buffer safe for the signal goroutine's writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
