package ipsave

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// portArity is the options of the tcp, udp and sctp matches.
var portArity = map[string]int{"--dport": 1, "--destination-port": 1, "--sport": 1, "--source-port": 1}

// moduleArity maps each modelled match module to its options and their
// number of values.
var moduleArity = map[string]map[string]int{
	"tcp":       portArity,
	"udp":       portArity,
	"sctp":      portArity,
	"comment":   {"--comment": 1},
	"addrtype":  {"--src-type": 1, "--dst-type": 1},
	"mark":      {"--mark": 1},
	"conntrack": {"--ctstate": 1},
	"statistic": {"--mode": 1, "--probability": 1, "--every": 1, "--packet": 1},
	"recent": {"--name": 1, "--set": 0, "--update": 0, "--rcheck": 0, "--remove": 0,
		"--seconds": 1, "--reap": 0, "--rsource": 0, "--rdest": 0, "--mask": 1, "--hitcount": 1, "--rttl": 0},
}

// typedMatch turns a raw module into its typed Match, or an UnknownMatch
// when the model does not cover it.
func typedMatch(m *rawModule) Match {
	var t Match
	var err error
	switch m.name {
	case "tcp", "udp", "sctp":
		t, err = portMatch(m)
	case "comment":
		t, err = commentMatch(m)
	case "addrtype":
		t, err = addrTypeMatch(m)
	case "mark":
		t, err = markMatch(m)
	case "conntrack":
		t, err = conntrackMatch(m)
	case "statistic":
		t, err = statisticMatch(m)
	case "recent":
		t, err = recentMatch(m)
	default:
		err = fmt.Errorf("unmodelled module")
	}
	if err != nil {
		u := &UnknownMatch{Name: m.name, Options: []string{}}
		for _, o := range m.opts {
			if o.negate {
				u.Options = append(u.Options, "!")
			}
			u.Options = append(u.Options, o.name)
			u.Options = append(u.Options, o.values...)
		}
		return u
	}
	return t
}

// single checks that every option is allowed, given once with one value
// (flags excepted), and negated only where allowed.
func single(m *rawModule, negatable ...string) (map[string]rawOpt, error) {
	out := map[string]rawOpt{}
	for _, o := range m.opts {
		n, ok := moduleArity[m.name][o.name]
		if !ok || len(o.values) != n {
			return nil, fmt.Errorf("bad option %s", o.name)
		}
		if _, dup := out[o.name]; dup {
			return nil, fmt.Errorf("option %s twice", o.name)
		}
		if o.negate && !contains(negatable, o.name) {
			return nil, fmt.Errorf("option %s cannot be negated", o.name)
		}
		out[o.name] = o
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func portMatch(m *rawModule) (Match, error) {
	pm := &PortMatch{Protocol: m.name}
	for _, o := range m.opts {
		if len(o.values) != 1 {
			return nil, fmt.Errorf("bad option %s", o.name)
		}
		dst := &pm.SourcePort
		if o.name == "--dport" || o.name == "--destination-port" {
			dst = &pm.DestinationPort
		}
		if *dst != nil {
			return nil, fmt.Errorf("port given twice")
		}
		pr, err := parsePortRange(o.values[0])
		if err != nil {
			return nil, err
		}
		pr.Negate = o.negate
		*dst = pr
	}
	// A bare "-m tcp" (kube-proxy writes one in every KUBE-SEP DNAT rule)
	// matches every packet of its protocol.
	return pm, nil
}

func parsePortRange(s string) (*PortRange, error) {
	a, b, isRange := strings.Cut(s, ":")
	first, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port %q", s)
	}
	last := first
	if isRange {
		if last, err = strconv.ParseUint(b, 10, 16); err != nil || last < first {
			return nil, fmt.Errorf("bad port range %q", s)
		}
	}
	return &PortRange{First: uint16(first), Last: uint16(last)}, nil
}

func commentMatch(m *rawModule) (Match, error) {
	o, err := single(m)
	if err != nil || len(o) != 1 {
		return nil, fmt.Errorf("bad comment")
	}
	return &CommentMatch{Comment: o["--comment"].values[0]}, nil
}

func addrTypeMatch(m *rawModule) (Match, error) {
	o, err := single(m, "--src-type", "--dst-type")
	if err != nil || len(o) == 0 {
		return nil, fmt.Errorf("bad addrtype")
	}
	am := &AddrTypeMatch{}
	if s, ok := o["--src-type"]; ok {
		am.SrcType = &AddrType{Negate: s.negate, Type: s.values[0]}
	}
	if d, ok := o["--dst-type"]; ok {
		am.DstType = &AddrType{Negate: d.negate, Type: d.values[0]}
	}
	return am, nil
}

func markMatch(m *rawModule) (Match, error) {
	o, err := single(m, "--mark")
	if err != nil || len(o) != 1 {
		return nil, fmt.Errorf("bad mark")
	}
	mk := o["--mark"]
	v, mask, err := parseValueMask(mk.values[0])
	if err != nil {
		return nil, err
	}
	return &MarkMatch{Negate: mk.negate, Value: v, Mask: mask}, nil
}

// parseValueMask parses "VALUE[/MASK]"; the mask defaults to all ones.
func parseValueMask(s string) (uint32, uint32, error) {
	vs, ms, hasMask := strings.Cut(s, "/")
	v, err := parseUint32(vs)
	if err != nil {
		return 0, 0, err
	}
	mask := uint32(math.MaxUint32)
	if hasMask {
		if mask, err = parseUint32(ms); err != nil {
			return 0, 0, err
		}
	}
	return v, mask, nil
}

func conntrackMatch(m *rawModule) (Match, error) {
	o, err := single(m, "--ctstate")
	if err != nil || len(o) != 1 {
		return nil, fmt.Errorf("bad conntrack")
	}
	st := o["--ctstate"]
	states := strings.Split(st.values[0], ",")
	for _, s := range states {
		if !contains(ctStates, s) {
			return nil, fmt.Errorf("bad ctstate %q", s)
		}
	}
	return &ConntrackMatch{Negate: st.negate, States: states}, nil
}

// ctStates are the states --ctstate knows.
var ctStates = []string{"INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT"}

func statisticMatch(m *rawModule) (Match, error) {
	o, err := single(m, "--probability")
	if err != nil || len(o) != 2 || o["--mode"].values[0] != "random" {
		return nil, fmt.Errorf("bad statistic")
	}
	pr := o["--probability"]
	p, err := strconv.ParseFloat(pr.values[0], 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
		return nil, fmt.Errorf("bad probability %q", pr.values[0])
	}
	return &StatisticMatch{Negate: pr.negate, Mode: "random", Probability: p}, nil
}

// recentCommands are the mutually exclusive commands of -m recent.
var recentCommands = []string{"--set", "--update", "--rcheck", "--remove"}

func recentMatch(m *rawModule) (Match, error) {
	o, err := single(m, recentCommands...)
	if err != nil {
		return nil, err
	}
	if _, ok := o["--hitcount"]; ok {
		return nil, fmt.Errorf("unmodelled --hitcount")
	}
	if _, ok := o["--rttl"]; ok {
		return nil, fmt.Errorf("unmodelled --rttl")
	}
	rm := &RecentMatch{Name: "DEFAULT", Mask: "255.255.255.255"}
	for _, c := range recentCommands {
		if cmd, ok := o[c]; ok {
			if rm.Command != "" {
				return nil, fmt.Errorf("two recent commands")
			}
			rm.Command, rm.Negate = strings.TrimPrefix(c, "--"), cmd.negate
		}
	}
	_, rsrc := o["--rsource"]
	_, rm.Dest = o["--rdest"]
	_, rm.Reap = o["--reap"]
	if rm.Command == "" || (rsrc && rm.Dest) {
		return nil, fmt.Errorf("bad recent")
	}
	if n, ok := o["--name"]; ok {
		rm.Name = n.values[0]
	}
	if s, ok := o["--seconds"]; ok {
		if rm.Seconds, err = strconv.Atoi(s.values[0]); err != nil || rm.Seconds <= 0 {
			return nil, fmt.Errorf("bad --seconds")
		}
	}
	if mk, ok := o["--mask"]; ok {
		cidr, err := parseCIDR(mk.values[0])
		if err != nil {
			return nil, err
		}
		rm.Mask = strings.TrimSuffix(cidr, "/32")
		if strings.Contains(rm.Mask, "/") {
			return nil, fmt.Errorf("bad --mask")
		}
	}
	if rm.Reap && rm.Seconds == 0 {
		return nil, fmt.Errorf("--reap wants --seconds")
	}
	return rm, nil
}
