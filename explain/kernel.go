package explain

import (
	"bufio"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Tracer names the kernel trace reader a live trace used.
type Tracer string

// The kernel trace readers.
const (
	// XtablesMonitor is `xtables-monitor --trace`: iptables-nft's tables,
	// printed as iptables-save prints their rules.
	XtablesMonitor Tracer = "xtables-monitor --trace"
	// NFTMonitor is `nft monitor trace`: every nftables table, native
	// ones (kube-proxy's nftables mode) included, in nft's syntax.
	NFTMonitor Tracer = "nft monitor trace"
)

// KernelStep is one rule (or chain policy) the kernel reported the first
// packet passing.
type KernelStep struct {
	// Table is the table ("nat", or "ip kube-proxy" for nft).
	Table string `json:"table"`
	Chain string `json:"chain"`
	// Handle is the rule's handle, empty for a policy.
	Handle string `json:"handle,omitempty"`
	// Text is the rule as the trace printed it, or "policy ACCEPT".
	Text string `json:"text"`
	// Verdict is what the rule did: ACCEPT, DROP, CONTINUE, JUMP, GOTO,
	// RETURN.
	Verdict string `json:"verdict"`
	// Target is the chain a JUMP or GOTO went to.
	Target string `json:"target,omitempty"`
	// Service is the Service port the rule's comment or chain names.
	Service string `json:"service,omitempty"`
}

// traceEvent is one line of a trace: a packet seen at a hook of a chain,
// or a step.
type traceEvent struct {
	id     string
	packet bool
	dst    string // "ip:port" of a packet line
	step   KernelStep
}

// firstPacket returns the events of the first packet traced: those of the
// first trace id, up to the point where the packet passes the trace
// rule's own table again (a later packet the kernel gave the same id),
// without the trace rule's own table.
func firstPacket(events []traceEvent, own func(KernelStep) bool) []traceEvent {
	var out []traceEvent
	var pending *traceEvent // a packet line, kept until a step of its follows
	left := false
	for i, e := range events {
		switch {
		case e.id != events[0].id:
		case e.packet:
			pending = &events[i]
		case own(e.step):
			if left {
				return out
			}
			pending = nil
		default:
			left = true
			if pending != nil {
				out = append(out, *pending)
				pending = nil
			}
			out = append(out, e)
		}
	}
	return out
}

// xtLocation parses "table:chain:rule:0x2:JUMP:TARGET",
// "table:chain:policy:ACCEPT" and "table:chain:return:".
var xtLocation = regexp.MustCompile(`^([a-z]+):(\S+?):(rule|policy|return):(?:(0x[0-9a-f]+):)?([A-Z]*|0x[0-9a-f]+)(?::(\S+))?$`)

// parseXtables reads `xtables-monitor --trace` output.
func parseXtables(text string) []traceEvent {
	var out []traceEvent
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		switch f[0] {
		case "PACKET:":
			out = append(out, traceEvent{id: f[2], packet: true, dst: xtPacketDst(f[3:])})
		case "TRACE:":
			m := xtLocation.FindStringSubmatch(f[3])
			if m == nil {
				continue
			}
			s := KernelStep{Table: m[1], Chain: m[2], Handle: m[4], Verdict: xtVerdict(m[5]), Target: m[6]}
			s.Text = xtRuleText(f[4:])
			if m[3] == "policy" {
				s.Text = "policy " + m[5]
			}
			if m[3] == "return" {
				s.Verdict, s.Text = "RETURN", "end of chain"
			}
			s.Service = commentService(s.Text)
			out = append(out, traceEvent{id: f[2], step: s})
		}
	}
	return out
}

// xtVerdict names a verdict xtables-monitor printed as a number:
// NFT_RETURN (-5) and NFT_CONTINUE (-1).
func xtVerdict(v string) string {
	switch v {
	case "0xfffffffb":
		return "RETURN"
	case "0xffffffff", "":
		return "CONTINUE"
	}
	return v
}

// xtPacketDst reads DST= and DPORT= of a PACKET line.
func xtPacketDst(fields []string) string {
	var addr, port string
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, "DST="); ok {
			addr = v
		} else if v, ok := strings.CutPrefix(f, "DPORT="); ok {
			port = v
		}
	}
	return hostPort(addr, port)
}

// xtRuleText drops "-4 -t TABLE" before the rule's "-A CHAIN ...".
func xtRuleText(f []string) string {
	for i, w := range f {
		if w == "-A" || w == "-I" {
			return strings.Join(f[i:], " ")
		}
	}
	return strings.Join(f, " ")
}

// nftVerdict is the "(verdict ...)" at the end of an nft trace rule line.
var nftVerdict = regexp.MustCompile(`\s*\(verdict ([a-z]+)(?: (\S+))?\)\s*$`)

// parseNFT reads `nft monitor trace` output.
func parseNFT(text string) []traceEvent {
	var out []traceEvent
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 || f[0] != "trace" || f[1] != "id" {
			continue
		}
		s := KernelStep{Table: f[3] + " " + f[4], Chain: f[5]}
		rest := strings.Join(f[7:], " ")
		switch f[6] {
		case "packet:":
			out = append(out, traceEvent{id: f[2], packet: true, dst: nftPacketDst(f[7:])})
			continue
		case "rule":
			s.Text, s.Verdict = rest, "CONTINUE"
			if m := nftVerdict.FindStringSubmatch(rest); m != nil {
				s.Text = rest[:len(rest)-len(m[0])]
				s.Verdict, s.Target = strings.ToUpper(m[1]), m[2]
			}
		case "policy":
			verdict, _, _ := strings.Cut(rest, " ")
			s.Verdict = strings.ToUpper(verdict)
			s.Text = "policy " + s.Verdict
		case "return":
			s.Verdict, s.Text = "RETURN", "end of chain"
		default:
			continue
		}
		s.Service = chainService(s.Chain)
		if s.Service == "" {
			s.Service = commentService(s.Text)
		}
		out = append(out, traceEvent{id: f[2], step: s})
	}
	return out
}

// nftPacketDst reads "ip daddr A" and "tcp|udp|sctp|th dport P" of a
// packet line.
func nftPacketDst(f []string) string {
	var addr, port string
	for i := 0; i+2 < len(f); i++ {
		switch {
		case f[i] == "ip" && f[i+1] == "daddr":
			addr = f[i+2]
		case f[i+1] == "dport" && port == "":
			port = f[i+2]
		}
	}
	return hostPort(addr, port)
}

func hostPort(addr, port string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return a.String()
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}

// comment finds a rule's comment, quoted or one word, in iptables or nft
// syntax.
var comment = regexp.MustCompile(`(?:--comment|\bcomment) (?:"([^"]*)"|([^\s"-]\S*))`)

// commentService returns the Service port a rule's comment names, or "".
func commentService(text string) string {
	m := comment.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	c := m[1] + m[2]
	first, _, _ := strings.Cut(c, " ")
	if servicePort.MatchString(first) {
		return first
	}
	return ""
}

// nftChain matches kube-proxy's nftables chains of a Service port:
// service-HASH-NS/NAME/PROTO/PORT, external-..., endpoint-...__IP/PORT.
var nftChain = regexp.MustCompile(`^(?:service|external|endpoint|firewall)-[A-Z0-9]+-([^/]+)/([^/]+)/[a-z]+/([^_]*)`)

// chainService returns the Service port kube-proxy's nftables chain name
// carries, as "namespace/name:port", or "".
func chainService(chain string) string {
	m := nftChain.FindStringSubmatch(chain)
	if m == nil {
		return ""
	}
	return m[1] + "/" + m[2] + ":" + m[3]
}
