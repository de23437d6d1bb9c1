package explain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// KernelPath is the path the kernel reported the first packet of one
// probe taking (explain --live).
type KernelPath struct {
	// Tracer is the trace reader used.
	Tracer Tracer `json:"tracer"`
	// TraceRule is the rule that marked the probe's packets for tracing.
	TraceRule string `json:"traceRule"`
	// Probe says where the probe went from and what it got.
	Probe string `json:"probe"`
	// Destination is the packet's "ip:port" after the last hook traced.
	Destination string `json:"destination"`
	DNAT        bool   `json:"dnat"`
	Masquerade  bool   `json:"masquerade"`
	// Verdict is ACCEPT, or DROP or REJECT when a rule ended the packet.
	Verdict string `json:"verdict"`
	// Services are the Service ports the steps name, in the order met.
	Services []string     `json:"services"`
	Steps    []KernelStep `json:"steps"`
	// Trace is the trace reader's output as it printed it, every packet
	// of the probe's flow.
	Trace string `json:"trace,omitempty"`
	// Agrees says whether the kernel's path is one of the computed
	// branches; Differences says where it is not. Both are unset when
	// nothing was computed (no iptables proxy rules: nftables mode).
	Agrees      *bool    `json:"agrees,omitempty"`
	Differences []string `json:"differences,omitempty"`
}

// ParseKernelTrace reads the output of tracer and returns the path of the
// first packet traced toward target (the "ip:port" the probe dialled),
// leaving out the steps of the table or chain that holds the trace rule
// (ownTable: "raw" for xtables-monitor, "ip svccheck-live-..." for nft).
func ParseKernelTrace(tracer Tracer, output, target, ownTable string) (*KernelPath, error) {
	var events []traceEvent
	switch tracer {
	case XtablesMonitor:
		events = parseXtables(output)
	case NFTMonitor:
		events = parseNFT(output)
	default:
		return nil, fmt.Errorf("unknown trace reader %q", tracer)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%s reported no packet", tracer)
	}
	events = firstPacket(events, func(s KernelStep) bool { return s.Table == ownTable })
	k := &KernelPath{Tracer: tracer, Destination: target, Verdict: "ACCEPT", Trace: output}
	for _, e := range events {
		if e.packet {
			if e.dst != "" {
				k.Destination = e.dst
			}
			continue
		}
		k.add(e.step)
	}
	if len(k.Steps) == 0 {
		return nil, fmt.Errorf("%s reported no rule passed by the first packet", tracer)
	}
	k.DNAT = k.Destination != target
	return k, nil
}

// masquerades matches a rule that masquerades or source-NATs.
var masquerades = regexp.MustCompile(`-j (MASQUERADE|SNAT)\b|\b(masquerade|snat)\b`)

// add appends a step and what it says about the packet.
func (k *KernelPath) add(s KernelStep) {
	k.Steps = append(k.Steps, s)
	if s.Service != "" && !slices.Contains(k.Services, s.Service) {
		k.Services = append(k.Services, s.Service)
	}
	switch s.Verdict {
	case "DROP":
		k.Verdict = "DROP"
		if strings.Contains(strings.ToLower(s.Text), "reject") {
			k.Verdict = "REJECT"
		}
	case "ACCEPT":
		if strings.HasPrefix(s.Text, "policy") {
			return
		}
		if masquerades.MatchString(s.Text) {
			k.Masquerade = true
		}
	}
}

// Chains returns the chains the kernel's path entered: those of its steps
// and those its jumps and gotos went to.
func (k *KernelPath) Chains() []string {
	var out []string
	for _, s := range k.Steps {
		for _, c := range []string{s.Chain, s.Target} {
			if c != "" && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// jumpTarget finds a rule's -j or -g chain in iptables-save text.
var jumpTarget = regexp.MustCompile(`\s-[jg] (\S+)`)

// Compare checks the kernel's path against the computed branches and
// sets k.Agrees and k.Differences: the kernel must have ended at a
// destination some computed branch ends at, with that branch's verdict,
// DNATed in the chain that branch DNATs in, and entered no proxy chain
// that branch does not enter. With no computed branch naming a Service
// (kube-proxy's nftables mode has no iptables rules), Compare does
// nothing.
func Compare(ex *Explanation, k *KernelPath) {
	if ex.Outcome == OutcomeNoService && len(ex.Services) == 0 {
		return
	}
	var diffs []string
	var branch *Path
	for i := range ex.Paths {
		if ex.Paths[i].Destination == k.Destination {
			branch = &ex.Paths[i]
			break
		}
	}
	if branch == nil {
		var dests []string
		for _, p := range ex.Paths {
			dests = append(dests, p.Destination)
		}
		diffs = append(diffs, fmt.Sprintf("the kernel sent the packet to %s; the computed branches end at %s",
			k.Destination, strings.Join(slices.Compact(slices.Sorted(slices.Values(dests))), ", ")))
	} else {
		diffs = append(diffs, compareBranch(branch, k)...)
	}
	agrees := len(diffs) == 0
	k.Agrees, k.Differences = &agrees, diffs
}

// compareBranch compares the computed branch ending where the kernel's
// path ended.
func compareBranch(p *Path, k *KernelPath) []string {
	var diffs []string
	if p.Verdict != k.Verdict {
		diffs = append(diffs, fmt.Sprintf("verdict: computed %s, kernel %s", p.Verdict, k.Verdict))
	}
	if p.DNAT != k.DNAT {
		diffs = append(diffs, fmt.Sprintf("DNAT: computed %v, kernel %v", p.DNAT, k.DNAT))
	}
	computed := map[string]bool{}
	dnatChain := ""
	for _, s := range p.Steps {
		computed[s.Chain] = true
		if m := jumpTarget.FindStringSubmatch(s.Text); m != nil && s.Matched {
			computed[m[1]] = true
		}
		if s.Matched && strings.Contains(s.Note, "DNAT to") {
			dnatChain = s.Chain
		}
	}
	live := k.Chains()
	for _, c := range live {
		if isProxy(c) && !computed[c] {
			diffs = append(diffs, "the kernel entered chain "+c+", the computed branch does not")
		}
	}
	if dnatChain != "" && !slices.Contains(live, dnatChain) {
		diffs = append(diffs, "the computed branch DNATs in chain "+dnatChain+", the kernel never entered it")
	}
	return diffs
}

// ApplyKernel attaches the kernel's path to ex and, when nothing was
// computed (no iptables proxy rule: kube-proxy's nftables mode), takes
// the Service ports and the outcome from the kernel's path alone.
func ApplyKernel(ex *Explanation, k *KernelPath) {
	Compare(ex, k)
	ex.Kernel = k
	if k.Agrees != nil || len(k.Services) == 0 {
		return
	}
	ex.Services = slices.Clone(k.Services)
	switch k.Verdict {
	case "DROP":
		ex.Outcome = OutcomeDropped
	case "REJECT":
		ex.Outcome = OutcomeRejected
	default:
		ex.Outcome = OutcomeAccepted
	}
	ex.FromKernel = true
}
