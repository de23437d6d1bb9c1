package proxyimpl

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptablestest"
)

// longName is a Service name far over the API server's limit of 63, so
// that the rules' comments naming it pass iptables' 255 bytes.
var longName = "long-" + strings.Repeat("x", 250)

// checkLongCommentSkipped syncs a Service whose rule comments iptables
// would refuse beside a good one, over ipt: the sync succeeds, the good
// Service is programmed, the bad one has no rules and a Warning Event.
func checkLongCommentSkipped(t *testing.T, ipt iptables.Interface) {
	rec := record.NewFakeRecorder(10)
	env := newEnvIPT(t, ipt, func(c *Config) { c.Recorder = rec },
		service("demo", "web", "10.96.0.10", 80, v1.ProtocolTCP),
		slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.5", testNode}),
		service("demo", longName, "10.96.0.11", 80, v1.ProtocolTCP),
		slice("demo", longName, "long-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.6", testNode}),
	)
	env.start(5)
	env.sync()
	d, text := realDump(t, env.ctx, ipt)
	if got := traceDump(t, d, iptablesPacket("10.96.0.10", 80)).Endpoints(); !cmp.Equal(got, []string{"10.244.1.5:8080"}) {
		t.Errorf("endpoints of the good Service = %v, want 10.244.1.5:8080\n%s", got, text)
	}
	if strings.Contains(text, "10.96.0.11") || strings.Contains(text, "10.244.1.6") {
		t.Errorf("rules for the Service with the long name:\n%s", text)
	}
	select {
	case ev := <-rec.Events:
		if !strings.HasPrefix(ev, "Warning "+EventReasonInvalidService+" ") || !strings.Contains(ev, "over iptables' limit of 255") {
			t.Errorf("event = %q, want a warning about the comment's length", ev)
		}
	default:
		t.Fatal("no Event for the Service with the long name")
	}
	// A partial sync of the good Service keeps working.
	env.updateSlice(slice("demo", "web", "web-1", 8080, v1.ProtocolTCP, endpoint{"10.244.1.7", testNode}))
	env.waitEvents(6)
	env.sync()
	d, text = realDump(t, env.ctx, ipt)
	if got := traceDump(t, d, iptablesPacket("10.96.0.10", 80)).Endpoints(); !cmp.Equal(got, []string{"10.244.1.7:8080"}) {
		t.Errorf("endpoints of the good Service after a partial sync = %v, want 10.244.1.7:8080\n%s", got, text)
	}
}

// TestLongCommentSkipped is checkLongCommentSkipped over the Fake.
func TestLongCommentSkipped(t *testing.T) {
	checkLongCommentSkipped(t, iptablestest.NewFake())
}

// TestIntegrationLongCommentSkipped is checkLongCommentSkipped over real
// iptables of each backend.
func TestIntegrationLongCommentSkipped(t *testing.T) {
	for _, b := range []iptables.Backend{iptables.BackendNFT, iptables.BackendLegacy} {
		t.Run(string(b), func(t *testing.T) {
			checkLongCommentSkipped(t, netnsIPT(t, b))
		})
	}
}
