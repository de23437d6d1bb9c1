package ipsave

// Dump is the state of some iptables tables: what iptables-save prints.
type Dump struct {
	// Tables in the order they were first seen.
	Tables []*Table
}

// Table is one iptables table. Its chains are in iptables-save order: the
// built-in ones first, then user chains sorted by name.
type Table struct {
	Name   TableName
	Chains []*Chain
}

// Chain is one chain: a built-in one (Policy is ACCEPT or DROP) or a
// user-defined one (Policy is "-").
type Chain struct {
	Name     ChainName
	Policy   string
	Counters Counters
	Rules    []*Rule
}

// Counters are packet and byte counters, "[packets:bytes]" in the text.
type Counters struct {
	Packets uint64
	Bytes   uint64
}

// Rule is one parsed rule. Basic matches come first, then the -m matches in
// the order they were given, then the target.
type Rule struct {
	// Counters is set when the rule text carried "[p:b]" counters.
	Counters *Counters
	// Source and Destination are -s and -d.
	Source      *AddrMatch
	Destination *AddrMatch
	// InInterface and OutInterface are -i and -o.
	InInterface  *StringMatch
	OutInterface *StringMatch
	// Protocol is -p.
	Protocol *StringMatch
	// Matches are the -m matches in order.
	Matches []Match
	// Target is what -j or -g names; Target.Name is empty for a rule
	// without a target (one that only counts).
	Target Target
	// Line is the 1-based line of the input the rule was read from, 0 for
	// a rule built by ParseRule.
	Line int
	// Raw is that line as it was read (counters and all), "" for a rule
	// built by ParseRule.
	Raw string
}

// AddrMatch is -s or -d: an address prefix, possibly negated with "!".
type AddrMatch struct {
	Negate bool
	// CIDR is the canonical masked prefix, e.g. "10.96.0.10/32", or a
	// masked address and a mask that is not a prefix, "0.0.0.95/0.0.0.127".
	CIDR string
}

// StringMatch is a possibly negated string option such as -p tcp or
// ! -i lo.
type StringMatch struct {
	Negate bool
	Value  string
}

// Match is one -m match. Its concrete type is one of *PortMatch,
// *CommentMatch, *AddrTypeMatch, *MarkMatch, *ConntrackMatch,
// *StatisticMatch, *RecentMatch or *UnknownMatch.
type Match interface {
	// Module is the match module name given to -m, e.g. "tcp".
	Module() string
	// Args are the module's options as iptables-save prints them, without
	// "-m" and the module name.
	Args() []string
}

// PortRange is a port or an inclusive port range, possibly negated.
type PortRange struct {
	Negate bool
	First  uint16
	// Last equals First for a single port.
	Last uint16
}

// PortMatch is -m tcp, -m udp or -m sctp with --sport and/or --dport.
type PortMatch struct {
	// Protocol is "tcp", "udp" or "sctp".
	Protocol        string
	SourcePort      *PortRange
	DestinationPort *PortRange
}

// CommentMatch is -m comment --comment TEXT.
type CommentMatch struct {
	Comment string
}

// AddrType is a possibly negated address type such as LOCAL.
type AddrType struct {
	Negate bool
	Type   string
}

// AddrTypeMatch is -m addrtype with --src-type and/or --dst-type.
type AddrTypeMatch struct {
	SrcType *AddrType
	DstType *AddrType
}

// MarkMatch is -m mark [!] --mark VALUE[/MASK]: it matches when
// packet mark & Mask == Value.
type MarkMatch struct {
	Negate bool
	Value  uint32
	// Mask is 0xffffffff when none was given.
	Mask uint32
}

// ConntrackMatch is -m conntrack [!] --ctstate STATES.
type ConntrackMatch struct {
	Negate bool
	// States in the order given, e.g. ["RELATED", "ESTABLISHED"].
	States []string
}

// StatisticMatch is -m statistic --mode random --probability P.
type StatisticMatch struct {
	Negate      bool
	Mode        string
	Probability float64
}

// RecentMatch is -m recent: a named list of recently seen addresses.
type RecentMatch struct {
	// Name is --name (iptables' default list is "DEFAULT").
	Name string
	// Command is "set", "update", "rcheck" or "remove".
	Command string
	// Negate is set for "! --update" and friends.
	Negate bool
	// Seconds is --seconds, 0 when not given.
	Seconds int
	// Reap is --reap.
	Reap bool
	// Dest is set for --rdest; the default, --rsource, keys on the source.
	Dest bool
	// Mask is --mask, "255.255.255.255" when not given.
	Mask string
}

// UnknownMatch is a match module, or a use of a known module, that the
// model does not cover. It round-trips verbatim; Tracer refuses it.
type UnknownMatch struct {
	Name    string
	Options []string
}

// Target is the rule's -j or -g target with its options.
type Target struct {
	// Name is a verdict (ACCEPT, DROP, RETURN), an extension target
	// (DNAT, MARK, MASQUERADE, REJECT, SNAT, ...) or a chain name.
	Name string
	// Goto is set for -g.
	Goto bool
	// ToDestination is DNAT --to-destination, e.g. "10.244.1.5:8080".
	ToDestination string
	// ToSource is SNAT --to-source.
	ToSource string
	// Mark is set for -j MARK. Every MARK option is normalised to
	// --set-xmark form: mark = (mark &^ Mask) ^ Value.
	Mark *MarkAction
	// RandomFully is MASQUERADE/SNAT --random-fully.
	RandomFully bool
	// RejectWith is REJECT --reject-with.
	RejectWith string
	// Options holds target options the model does not cover, verbatim.
	Options []string
}

// MarkAction is a MARK target in --set-xmark VALUE/MASK form.
type MarkAction struct {
	Value uint32
	Mask  uint32
}

// Apply returns the packet mark after the action.
func (a MarkAction) Apply(mark uint32) uint32 {
	return (mark &^ a.Mask) ^ a.Value
}
