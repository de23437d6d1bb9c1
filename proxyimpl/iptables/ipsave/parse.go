package ipsave

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ParseScript parses iptables-restore input or iptables-save output into
// its table blocks and lines, without applying them. Comment and empty lines
// are skipped. Every block must end with COMMIT.
func ParseScript(data []byte) (*Script, error) {
	s := &Script{}
	var cur *TableScript
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var err error
		cur, err = parseLine(s, cur, line)
		if err != nil {
			return nil, fmt.Errorf("parsing line %d %q: %w", n, line, err)
		}
		if cur != nil && len(cur.Ops) > 0 {
			if r := cur.Ops[len(cur.Ops)-1].Rule; r != nil && r.Line == 0 {
				r.Line, r.Raw = n, line
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading rules: %w", err)
	}
	if cur != nil {
		return nil, fmt.Errorf("parsing table %s: COMMIT expected at end of input", cur.Name)
	}
	return s, nil
}

// parseLine handles one non-comment line and returns the open table block.
func parseLine(s *Script, cur *TableScript, line string) (*TableScript, error) {
	switch {
	case strings.HasPrefix(line, "*"):
		if cur != nil {
			return nil, fmt.Errorf("table %s not committed", cur.Name)
		}
		name := line[1:]
		if !validName(name) {
			return nil, fmt.Errorf("bad table name %q", name)
		}
		t := &TableScript{Name: TableName(name)}
		s.Tables = append(s.Tables, t)
		return t, nil
	case line == "COMMIT":
		if cur == nil {
			return nil, fmt.Errorf("COMMIT outside a table")
		}
		return nil, nil
	case cur == nil:
		return nil, fmt.Errorf("line outside a table")
	case strings.HasPrefix(line, ":"):
		op, err := parseDeclare(line[1:])
		if err != nil {
			return nil, err
		}
		cur.Ops = append(cur.Ops, op)
		return cur, nil
	}
	words, err := splitWords(line)
	if err != nil {
		return nil, err
	}
	op, err := parseOp(words)
	if err != nil {
		return nil, err
	}
	cur.Ops = append(cur.Ops, op)
	return cur, nil
}

// parseDeclare parses "CHAIN POLICY [p:b]" (the part after ':').
func parseDeclare(rest string) (Op, error) {
	f := strings.Fields(rest)
	if len(f) < 2 || len(f) > 3 {
		return Op{}, fmt.Errorf("chain line wants NAME POLICY [packets:bytes]")
	}
	if !validName(f[0]) {
		return Op{}, fmt.Errorf("bad chain name %q", f[0])
	}
	switch f[1] {
	case "-", "ACCEPT", "DROP":
	default:
		return Op{}, fmt.Errorf("bad policy %q", f[1])
	}
	op := Op{Kind: OpDeclare, Chain: ChainName(f[0]), Policy: f[1]}
	if len(f) == 3 {
		c, err := parseCounters(f[2])
		if err != nil {
			return Op{}, err
		}
		op.Counters = &c
	}
	return op, nil
}

// parseCounters parses "[packets:bytes]".
func parseCounters(s string) (Counters, error) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return Counters{}, fmt.Errorf("bad counters %q", s)
	}
	p, b, ok := strings.Cut(s[1:len(s)-1], ":")
	if !ok {
		return Counters{}, fmt.Errorf("bad counters %q", s)
	}
	pn, err1 := strconv.ParseUint(p, 10, 64)
	bn, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return Counters{}, fmt.Errorf("bad counters %q", s)
	}
	return Counters{Packets: pn, Bytes: bn}, nil
}

// parseOp parses a "-A/-I/-D/-F/-N/-X ..." line split into words, with
// optional leading "[p:b]" counters.
func parseOp(words []string) (Op, error) {
	var counters *Counters
	if len(words) > 0 && strings.HasPrefix(words[0], "[") {
		c, err := parseCounters(words[0])
		if err != nil {
			return Op{}, err
		}
		counters = &c
		words = words[1:]
	}
	if len(words) == 0 {
		return Op{}, fmt.Errorf("empty command")
	}
	op := Op{Kind: OpKind(words[0])}
	args := words[1:]
	switch op.Kind {
	case OpFlush, OpDeleteChain, OpNewChain:
		if counters != nil || len(args) > 1 || (op.Kind == OpNewChain && len(args) == 0) {
			return Op{}, fmt.Errorf("%s takes one chain name", op.Kind)
		}
		if len(args) == 1 {
			if !validName(args[0]) {
				return Op{}, fmt.Errorf("bad chain name %q", args[0])
			}
			op.Chain = ChainName(args[0])
		}
		return op, nil
	case OpAppend, OpInsert, OpDelete:
	default:
		return Op{}, fmt.Errorf("unknown command %q", words[0])
	}
	if len(args) == 0 || !validName(args[0]) {
		return Op{}, fmt.Errorf("%s wants a chain name", op.Kind)
	}
	op.Chain = ChainName(args[0])
	args = args[1:]
	if op.Kind != OpAppend && len(args) > 0 {
		if n, err := strconv.Atoi(args[0]); err == nil {
			if n < 1 {
				return Op{}, fmt.Errorf("bad rule number %d", n)
			}
			op.Num = n
			args = args[1:]
			if op.Kind == OpDelete {
				if len(args) > 0 || counters != nil {
					return Op{}, fmt.Errorf("-D CHAIN NUM takes nothing more")
				}
				return op, nil
			}
		}
	}
	r, err := ParseRule(args...)
	if err != nil {
		return Op{}, err
	}
	if counters != nil {
		r.Counters = counters
	}
	op.Rule = r
	return op, nil
}

// validName reports whether s can name a table or chain: 1 to 28 printable
// characters that start no option.
func validName(s string) bool {
	if s == "" || len(s) > 28 || s[0] == '-' || s[0] == '!' || s[0] == '[' {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c > '~' || c == '"' || c == '\\' || c == '\'' {
			return false
		}
	}
	return true
}

// splitWords splits a line into words the way iptables-restore does; see
// SplitWords.
func splitWords(line string) ([]string, error) {
	words, err := SplitWords(line)
	if err != nil {
		return nil, fmt.Errorf("splitting %q: %w", line, err)
	}
	return words, nil
}
