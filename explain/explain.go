package explain

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/iptables/iptrace"
)

// ProxyPrefixes are the chain prefixes of the proxies explain knows:
// svccheck's and kube-proxy's iptables mode.
var ProxyPrefixes = []string{"SVCCHK-", "KUBE-"}

// Node is what explain needs of one node: its tables and its addresses.
type Node struct {
	Name string
	// Files names the file each table was read from.
	Files map[ipsave.TableName]string
	// Addrs are the node's own addresses.
	Addrs []string
	// data holds each table's file, index its chains: explain parses
	// only the chains a trace reaches.
	data  map[ipsave.TableName][]byte
	index map[ipsave.TableName]*ipsave.IndexTable
}

// Tables parses the node's whole nat and filter tables, each rule with its
// line in its file.
func (n *Node) Tables() (*ipsave.Dump, error) {
	out := &ipsave.Dump{}
	for _, name := range []ipsave.TableName{ipsave.TableNAT, ipsave.TableFilter} {
		data, ok := n.data[name]
		if !ok {
			continue
		}
		d, err := ipsave.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("parsing %s of node %s: %w", n.Files[name], n.Name, err)
		}
		if t := d.Table(name); t != nil {
			out.Tables = append(out.Tables, t)
		}
	}
	return out, nil
}

// Outcome sums up what happens to a new connection.
type Outcome string

// Outcomes.
const (
	OutcomeAccepted  Outcome = "accepted"
	OutcomeRejected  Outcome = "REJECT"
	OutcomeDropped   Outcome = "DROP"
	OutcomeMixed     Outcome = "mixed"
	OutcomeNoService Outcome = "no Service rule"
)

// Explanation is the path a first packet takes, every branch of it.
type Explanation struct {
	Node   string `json:"node"`
	Source Source `json:"source"`
	Target string `json:"target"`
	// Outcome is accepted, REJECT or DROP when every branch ends so,
	// mixed otherwise, and "no Service rule" when no rule passed names a
	// Service port and nothing was DNATed.
	Outcome Outcome `json:"outcome"`
	// Services are the Service ports ("namespace/name:port") the comments
	// of the rules passed name, in the order met.
	Services []string `json:"services"`
	// Paths are the branches a new connection may take.
	Paths []Path `json:"paths"`
	// Kernel is the path the kernel reported for one probe (--live).
	Kernel *KernelPath `json:"kernel,omitempty"`
	// FromKernel is true when Services and Outcome come from the
	// kernel's path alone: no iptables proxy rule was there to compute
	// from (kube-proxy's nftables mode).
	FromKernel bool `json:"fromKernel,omitempty"`
}

// Path is one branch: its probability, where it ends and its walk.
type Path struct {
	Probability float64 `json:"probability"`
	// Destination is the final "ip:port".
	Destination string `json:"destination"`
	DNAT        bool   `json:"dnat"`
	Masquerade  bool   `json:"masquerade"`
	Verdict     string `json:"verdict"`
	// AffinitySet names the -m recent lists this branch records the
	// client in (session affinity).
	AffinitySet []string `json:"affinitySet,omitempty"`
	RulesWalked int      `json:"rulesWalked"`
	Steps       []Step   `json:"steps"`
}

// Step is one rule passed (or a chain policy reached).
type Step struct {
	Table string `json:"table"`
	Chain string `json:"chain"`
	// Rule is the 1-based rule number in its chain, 0 for a policy.
	Rule int `json:"rule"`
	// File and Line locate the rule in the dump.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Text is the rule as iptables-save printed it, or "policy ACCEPT".
	Text string `json:"text"`
	// Service is the Service port the rule's comment names.
	Service string `json:"service,omitempty"`
	// Matched is false for a statistic branch not taken or an affinity
	// check that found no entry.
	Matched bool `json:"matched"`
	// Note says what the step does: "statistic 50.0% taken", "DNAT to
	// 10.244.1.5:8080", "affinity: no entry", ...
	Note string `json:"note,omitempty"`
}

// Explain traces the first packet from src to dst through node's tables,
// keeping only the proxies' chains (see ProxyPrefixes) and the rules that
// lead into them.
func Explain(node *Node, src Source, dst Target) (*Explanation, error) {
	nat, filter := node.proxyTable(ipsave.TableNAT), node.proxyTable(ipsave.TableFilter)
	tr, err := iptrace.NewChains(nat.chains(), filter.chains(), node.Addrs...)
	if err != nil {
		return nil, fmt.Errorf("explaining on node %s: %w", node.Name, err)
	}
	pkt := iptrace.Packet{Source: src.Addr.String(), Destination: dst.Addr.String(), Protocol: dst.Protocol,
		SourcePort: 40000, DestinationPort: dst.Port, Local: src.Kind == FromNode, InInterface: "eth0", OutInterface: "eth0"}
	if src.Kind == FromPod {
		pkt.InInterface = "veth0"
	}
	res, err := tr.Trace(pkt)
	if perr := cmp.Or(nat.parseErr(), filter.parseErr()); perr != nil {
		return nil, fmt.Errorf("explaining on node %s: %w", node.Name, perr)
	}
	if err != nil {
		return nil, fmt.Errorf("explaining %s -> %s on node %s: %w", src, dst, node.Name, err)
	}
	ex := &Explanation{Node: node.Name, Source: src, Target: dst.String()}
	tables := map[ipsave.TableName]*proxyTable{ipsave.TableNAT: nat, ipsave.TableFilter: filter}
	for _, p := range res.Paths {
		ex.Paths = append(ex.Paths, convertPath(node, tables, p, &ex.Services))
	}
	ex.Outcome = outcome(ex)
	return ex, nil
}

func convertPath(node *Node, tables map[ipsave.TableName]*proxyTable, p iptrace.Path, services *[]string) Path {
	out := Path{Probability: p.Probability, Destination: p.Destination, DNAT: p.DNAT, Masquerade: p.Masquerade,
		Verdict: string(p.Verdict), AffinitySet: p.RecentSet, RulesWalked: p.RulesWalked}
	for _, s := range p.Trace {
		st := Step{Table: string(s.Table), Chain: string(s.Chain), Rule: s.Rule, Text: s.Text, Matched: !s.NoMatch}
		if r, num := tables[s.Table].rule(s); r != nil {
			st.File, st.Line = node.Files[s.Table], r.Line
			st.Rule = num
			if r.Raw != "" {
				st.Text = ipsave.StripCounters(r.Raw)
			}
			st.Service = serviceOf(r)
			st.Note = note(r, s.NoMatch)
			if st.Service != "" && !contains(*services, st.Service) {
				*services = append(*services, st.Service)
			}
		}
		out.Steps = append(out.Steps, st)
	}
	return out
}

// servicePort finds "namespace/name:port" at the start of a comment.
var servicePort = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[-a-z0-9]*$`)

// serviceOf returns the Service port a rule's comment names, or "".
func serviceOf(r *ipsave.Rule) string {
	for _, m := range r.Matches {
		if c, ok := m.(*ipsave.CommentMatch); ok {
			first, _, _ := strings.Cut(c.Comment, " ")
			if servicePort.MatchString(first) {
				return first
			}
		}
	}
	return ""
}

// note describes what a rule does to the packet.
func note(r *ipsave.Rule, noMatch bool) string {
	var parts []string
	for _, m := range r.Matches {
		switch m := m.(type) {
		case *ipsave.StatisticMatch:
			p := m.Probability
			if m.Negate {
				p = 1 - p
			}
			if noMatch {
				parts = append(parts, fmt.Sprintf("statistic branch not taken (%.1f%% of the rest go there)", 100*p))
			} else {
				parts = append(parts, fmt.Sprintf("statistic branch taken (%.1f%% of the rest)", 100*p))
			}
		case *ipsave.RecentMatch:
			if !noMatch || m.Command != "set" {
				parts = append(parts, recentNote(m, noMatch))
			}
		}
	}
	if noMatch {
		return strings.Join(parts, "; ")
	}
	switch t := r.Target; t.Name {
	case "DNAT":
		parts = append(parts, "DNAT to "+t.ToDestination)
	case "MASQUERADE", "SNAT":
		parts = append(parts, "masquerade")
	case "REJECT", "DROP":
		parts = append(parts, t.Name)
	case "MARK":
		parts = append(parts, "mark for masquerade")
	}
	return strings.Join(parts, "; ")
}

func recentNote(m *ipsave.RecentMatch, noMatch bool) string {
	switch {
	case m.Command == "set":
		return "affinity: client recorded in " + m.Name
	case noMatch:
		return "affinity: no entry in " + m.Name + " (a first connection)"
	}
	return "affinity: client found in " + m.Name
}

func outcome(ex *Explanation) Outcome {
	if len(ex.Services) == 0 {
		dnat := false
		for _, p := range ex.Paths {
			dnat = dnat || p.DNAT
		}
		if !dnat {
			return OutcomeNoService
		}
	}
	var out Outcome
	for i, p := range ex.Paths {
		o := OutcomeAccepted
		switch p.Verdict {
		case string(iptrace.VerdictReject):
			o = OutcomeRejected
		case string(iptrace.VerdictDrop):
			o = OutcomeDropped
		}
		if i > 0 && o != out {
			return OutcomeMixed
		}
		out = o
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isProxy(chain string) bool {
	for _, p := range ProxyPrefixes {
		if strings.HasPrefix(chain, p) {
			return true
		}
	}
	return false
}
