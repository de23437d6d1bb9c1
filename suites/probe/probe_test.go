package probe

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/suites/agent"
)

func TestParse(t *testing.T) {
	out := `{"target":"10.96.0.10:80","protocol":"http","attempts":[
{"seq":1,"ok":true,"hostname":"web-0","client":"10.244.1.5:40000","millis":1.2},
{"seq":2,"ok":false,"errorKind":"refused","error":"connection refused","millis":0.3},
{"seq":3,"ok":false,"errorKind":"timeout","error":"i/o timeout","millis":2000},
{"seq":4,"ok":false,"errorKind":"other","error":"no route to host","millis":1},
{"seq":5,"ok":true,"hostname":"web-1","client":"10.244.1.5:40002","millis":1.0}]}` + "\n"
	got, err := Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		{Outcome: Answered, Hostname: "web-0", Client: "10.244.1.5:40000"},
		{Outcome: Refused, Error: "connection refused"},
		{Outcome: Timeout, Error: "i/o timeout"},
		{Outcome: Failed, Error: "no route to host"},
		{Outcome: Answered, Hostname: "web-1", Client: "10.244.1.5:40002"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Parse (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"web-0", "web-1"}, got.Hostnames()); diff != "" {
		t.Errorf("Hostnames (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.244.1.5"}, got.Clients()); diff != "" {
		t.Errorf("Clients (-want +got):\n%s", diff)
	}
	if got.Count(Answered) != 2 || got.Count(Refused) != 1 {
		t.Errorf("counts: %s", got)
	}
	if s := got.String(); s != "2 answered by [web-0 web-1], 1 error, 1 refused, 1 timeout" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "svccheck: bad target", `{"attempts":`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", in)
		}
	}
}

func TestArgs(t *testing.T) {
	got := Args(Request{Target: "10.96.0.1:443"})
	want := []string{"agent", "probe", "--target", "10.96.0.1:443", "--protocol", "tcp", "--count", "1", "--timeout", "2s", "--json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Args (-want +got):\n%s", diff)
	}
	got = Args(Request{Target: "10.96.0.10:53", Protocol: UDP, SourcePort: 40001})
	want = []string{"agent", "probe", "--target", "10.96.0.10:53", "--protocol", "udp", "--count", "1", "--timeout", "2s", "--json", "--source-port", "40001"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Args with a source port (-want +got):\n%s", diff)
	}
}

// TestParseAgentOverLoopback runs the real agent prober against a closed
// and an open loopback port and parses its JSON, so the two packages cannot
// drift apart.
func TestParseAgentOverLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := ln.Addr().String()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, tc := range []struct {
		target string
		want   Outcome
	}{{open, Answered}, {closedAddr, Refused}} {
		rep, err := agent.Probe(context.Background(), agent.ProbeOptions{Target: tc.target, Protocol: agent.TCP, Count: 2, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 2 || res.Count(tc.want) != 2 {
			t.Errorf("%s: got %s, want 2 %s (%s)", tc.target, res, tc.want, strings.TrimSpace(string(data)))
		}
	}
}
