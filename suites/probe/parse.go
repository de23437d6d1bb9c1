package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"

	"github.com/svccheck/svccheck/suites/agent"
)

// Parse parses the output of `svccheck agent probe --json` (an agent.Report).
func Parse(out []byte) (Result, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("parsing probe output: empty")
	}
	var rep agent.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("parsing probe output %q: %w", truncate(out, 200), err)
	}
	res := make(Result, 0, len(rep.Attempts))
	for _, a := range rep.Attempts {
		res = append(res, fromAgent(a))
	}
	return res, nil
}

// fromAgent converts one agent attempt.
func fromAgent(a agent.Attempt) Attempt {
	if a.OK {
		return Attempt{Outcome: Answered, Hostname: a.Hostname, Client: a.Client}
	}
	o := Failed
	switch a.ErrorKind {
	case agent.Refused:
		o = Refused
	case agent.Timeout:
		o = Timeout
	}
	return Attempt{Outcome: o, Error: a.Error}
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
