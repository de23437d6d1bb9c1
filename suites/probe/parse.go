package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
)

// agentAttempt is one attempt as `svccheck agent probe --json` prints it.
type agentAttempt struct {
	Outcome  string `json:"outcome"`
	Hostname string `json:"hostname"`
	Client   string `json:"client"`
	Error    string `json:"error"`
}

// agentReport is the document `svccheck agent probe --json` prints.
type agentReport struct {
	Attempts []agentAttempt `json:"attempts"`
}

// Parse parses the output of `svccheck agent probe --json`.
func Parse(out []byte) (Result, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("parsing probe output: empty")
	}
	var rep agentReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("parsing probe output %q: %w", truncate(out, 200), err)
	}
	res := make(Result, 0, len(rep.Attempts))
	for i, a := range rep.Attempts {
		o, err := outcome(a.Outcome)
		if err != nil {
			return nil, fmt.Errorf("parsing probe attempt %d: %w", i, err)
		}
		res = append(res, Attempt{Outcome: o, Hostname: a.Hostname, Client: a.Client, Error: a.Error})
	}
	return res, nil
}

func outcome(s string) (Outcome, error) {
	switch Outcome(s) {
	case Answered, Refused, Timeout, Failed:
		return Outcome(s), nil
	}
	return "", fmt.Errorf("unknown outcome %q", s)
}

func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
