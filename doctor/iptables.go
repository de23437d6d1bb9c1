package doctor

import (
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// This file holds the little iptables-save reading doctor does on top of
// ipsave's line reader and word splitter: the fields of a rule its checks
// look at.

// saveRule is one "-A" line of iptables-save output.
type saveRule struct {
	line    int // 1-based line in the file
	text    string
	table   string
	chain   string
	comment string // the --comment argument, unquoted
	dest    string // -d
	dport   string // --dport
	target  string // -j
	toDest  string // --to-destination
}

// serviceKey returns the Service port a rule's comment names
// ("ns/name:port" or "ns/name"), or "" when it names none.
func (r saveRule) serviceKey() string {
	f := strings.Fields(r.comment)
	if len(f) == 0 || !strings.Contains(f[0], "/") {
		return ""
	}
	return f[0]
}

// saveChain is a chain declared in iptables-save output.
type saveChain struct {
	line  int
	table string
	name  string
}

// saveFile is a parsed iptables-save file.
type saveFile struct {
	chains []saveChain
	rules  []saveRule
}

// parseSave reads iptables-save output (with or without counters) through
// ipsave's line reader: the chains it declares and its rules, each with its
// line number.
func parseSave(lines []string) saveFile {
	var f saveFile
	// Scan's callback returns no error, and reading from memory cannot fail.
	_ = ipsave.Scan([]byte(strings.Join(lines, "\n")), func(l ipsave.Line) error {
		switch l.Kind {
		case ipsave.LineChain:
			f.chains = append(f.chains, saveChain{line: l.Num, table: string(l.Table), name: string(l.Chain)})
		case ipsave.LineRule:
			f.rules = append(f.rules, parseRule(l.Num, string(l.Table), ipsave.StripCounters(l.Text)))
		}
		return nil
	})
	return f
}

func parseRule(line int, table, text string) saveRule {
	r := saveRule{line: line, text: text, table: table}
	args, err := ipsave.SplitWords(text)
	if err != nil {
		args = strings.Fields(text)
	}
	for i := 0; i+1 < len(args); i++ {
		v := args[i+1]
		switch args[i] {
		case "-A":
			r.chain = v
		case "--comment":
			r.comment = v
		case "-d":
			r.dest = v
		case "--dport":
			r.dport = v
		case "-j":
			r.target = v
		case "--to-destination":
			r.toDest = v
		default:
			continue
		}
		i++
	}
	return r
}
