package ipsave

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// LineKind is what one line of iptables-save output is.
type LineKind int

// Kinds of lines Scan reports.
const (
	// LineTable is "*table".
	LineTable LineKind = iota + 1
	// LineChain is ":CHAIN POLICY [p:b]".
	LineChain
	// LineRule is "[p:b] -A CHAIN spec", counters optional.
	LineRule
	// LineCommit is "COMMIT".
	LineCommit
	// LineOther is any other command line (restore input's -I, -D, ...).
	LineOther
)

// Line is one non-empty, non-comment line as Scan reads it.
type Line struct {
	// Num is the 1-based line number in the input.
	Num  int
	Kind LineKind
	// Table is the table the line belongs to (for LineTable, its name).
	Table TableName
	// Chain is the chain a LineChain declares or a LineRule appends to.
	Chain ChainName
	// Policy is a LineChain's policy ("-" for a user chain).
	Policy string
	// Spec is a LineRule's text after "-A CHAIN ", counters dropped.
	Spec string
	// Text is the line as read, surrounding blanks trimmed.
	Text string
}

// Scan reads the line structure of iptables-save output, calling fn for
// every line that is not blank or a comment, without typing the rules:
// it is what counting rules or listing chains of a 100k-rule dump needs.
// An error from fn stops the scan and is returned.
func Scan(data []byte, fn func(Line) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var table TableName
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		l := Line{Num: n, Text: text, Table: table, Kind: LineOther}
		switch {
		case strings.HasPrefix(text, "*"):
			table = TableName(text[1:])
			l.Kind, l.Table = LineTable, table
		case text == "COMMIT":
			l.Kind = LineCommit
		case strings.HasPrefix(text, ":"):
			f := strings.Fields(text[1:])
			if len(f) > 0 {
				l.Kind, l.Chain = LineChain, ChainName(f[0])
			}
			if len(f) > 1 {
				l.Policy = f[1]
			}
		default:
			cmd := StripCounters(text)
			if rest, ok := strings.CutPrefix(cmd, "-A "); ok {
				chain, spec, _ := strings.Cut(rest, " ")
				l.Kind, l.Chain, l.Spec = LineRule, ChainName(chain), spec
			}
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading rules: %w", err)
	}
	return nil
}

// StripCounters drops a leading "[packets:bytes] " from a rule line.
func StripCounters(line string) string {
	if strings.HasPrefix(line, "[") {
		if i := strings.Index(line, "]"); i >= 0 {
			return strings.TrimLeft(line[i+1:], " ")
		}
	}
	return line
}

// Summary is what Summarize counts in a dump.
type Summary struct {
	// Rules is the number of rules (-A lines) in every table.
	Rules int
	// Chains lists, per table, every declared chain in order.
	Chains map[TableName][]ChainName
}

// Summarize counts the rules and lists the chains of iptables-save output.
func Summarize(data []byte) Summary {
	s := Summary{Chains: map[TableName][]ChainName{}}
	_ = Scan(data, func(l Line) error {
		switch l.Kind {
		case LineRule:
			s.Rules++
		case LineChain:
			s.Chains[l.Table] = append(s.Chains[l.Table], l.Chain)
		}
		return nil
	})
	return s
}

// HasChain reports whether any table declares chain.
func (s Summary) HasChain(chain ChainName) bool {
	for _, cs := range s.Chains {
		for _, c := range cs {
			if c == chain {
				return true
			}
		}
	}
	return false
}
