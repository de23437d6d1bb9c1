package probe

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Protocol is what a probe speaks to its target.
type Protocol string

// Protocols the agent can probe with.
const (
	TCP  Protocol = "tcp"
	UDP  Protocol = "udp"
	HTTP Protocol = "http"
)

// Outcome classifies one probe attempt.
type Outcome string

// Outcomes of a probe attempt.
const (
	// Answered means a backend replied and said who it is.
	Answered Outcome = "answered"
	// Refused means the connection was actively refused (TCP RST or ICMP
	// port unreachable): what a proxy does for a Service with no endpoints.
	Refused Outcome = "refused"
	// Timeout means nothing came back within the probe's timeout.
	Timeout Outcome = "timeout"
	// Failed is any other error.
	Failed Outcome = "error"
)

// Request describes one probe run: Count attempts at Target.
type Request struct {
	// Target is host:port.
	Target string
	// Protocol defaults to TCP.
	Protocol Protocol
	// Count is the number of attempts, each on a new connection; default 1.
	Count int
	// Timeout bounds each attempt; default 2s.
	Timeout time.Duration
	// SourcePort, when not 0, is the local port every attempt sends from,
	// so repeated UDP probes share one conntrack entry.
	SourcePort int
}

// Attempt is the result of one connection.
type Attempt struct {
	// Outcome classifies the attempt.
	Outcome Outcome
	// Hostname is the answering backend's hostname (pod name), if it answered.
	Hostname string
	// Client is the client address the backend saw (host:port), if it answered.
	Client string
	// Error is the error text of an attempt that did not get an answer.
	Error string
}

// Result is every attempt of one probe run, in order.
type Result []Attempt

// Prober runs probes from one place in the cluster.
type Prober interface {
	// Probe runs req and returns one Attempt per connection. The error is
	// reserved for failing to run the probe at all (exec failed, bad output);
	// refused or timed-out connections are Attempts, not errors.
	Probe(ctx context.Context, req Request) (Result, error)
	// Source names where the probes come from, e.g. "pod ns/client" or
	// "node kind-worker", for messages and reports.
	Source() string
}

// Args returns the svccheck command line (without the binary) that runs req.
func Args(req Request) []string {
	proto := req.Protocol
	if proto == "" {
		proto = TCP
	}
	count := req.Count
	if count <= 0 {
		count = 1
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	args := []string{"agent", "probe",
		"--target", req.Target,
		"--protocol", string(proto),
		"--count", strconv.Itoa(count),
		"--timeout", timeout.String(),
		"--json",
	}
	if req.SourcePort != 0 {
		args = append(args, "--source-port", strconv.Itoa(req.SourcePort))
	}
	return args
}

// Hostnames returns the distinct hostnames that answered, sorted.
func (r Result) Hostnames() []string {
	seen := map[string]bool{}
	for _, a := range r {
		if a.Outcome == Answered && a.Hostname != "" {
			seen[a.Hostname] = true
		}
	}
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// Outcomes returns the distinct outcomes of r, sorted.
func (r Result) Outcomes() []Outcome {
	seen := map[Outcome]bool{}
	for _, a := range r {
		seen[a.Outcome] = true
	}
	out := make([]Outcome, 0, len(seen))
	for o := range seen {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Count returns how many attempts had outcome o.
func (r Result) Count(o Outcome) int {
	n := 0
	for _, a := range r {
		if a.Outcome == o {
			n++
		}
	}
	return n
}

// Clients returns the distinct client addresses (without port) the backends
// saw, sorted.
func (r Result) Clients() []string {
	seen := map[string]bool{}
	for _, a := range r {
		if a.Outcome == Answered && a.Client != "" {
			seen[hostOnly(a.Client)] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// String summarises r for failure messages, e.g. "3 answered by [a b], 1 timeout".
func (r Result) String() string {
	s := ""
	for _, o := range r.Outcomes() {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%d %s", r.Count(o), o)
		if o == Answered {
			s += fmt.Sprintf(" by %v", r.Hostnames())
		}
	}
	if s == "" {
		return "no attempts"
	}
	return s
}
