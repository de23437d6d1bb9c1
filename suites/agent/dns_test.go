package agent

import (
	"context"
	"testing"
	"time"
)

// TestLookupA resolves localhost, which /etc/hosts answers: no query
// leaves the machine.
func TestLookupA(t *testing.T) {
	rep, err := LookupA(context.Background(), "localhost", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Error != "" || len(rep.Addresses) == 0 || rep.Addresses[0] != "127.0.0.1" {
		t.Errorf("LookupA(localhost) = %+v, want 127.0.0.1", rep)
	}
}

func TestLookupACancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LookupA(ctx, "localhost", time.Second); err == nil {
		t.Error("LookupA with a cancelled context succeeded")
	}
}
