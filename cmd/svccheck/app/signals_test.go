package app

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSignalContext(t *testing.T) {
	var stderr lockedBuffer
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
	var stderr lockedBuffer
	ctx, stop := signalContext(&stderr, func() { t.Error("exit called after stop") })
	stop()
	if ctx.Err() == nil {
		t.Error("stop did not cancel the context")
	}
}
