package doctor

import "strings"

// This file holds all the iptables-save parsing doctor does, kept minimal
// and in one place so a shared model of iptables-save text can replace it.

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

// parseSave parses iptables-save output (with or without counters).
func parseSave(lines []string) saveFile {
	var f saveFile
	table := ""
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			if j := strings.IndexByte(l, ']'); j >= 0 {
				l = strings.TrimSpace(l[j+1:])
			}
		}
		switch {
		case strings.HasPrefix(l, "*"):
			table = l[1:]
		case strings.HasPrefix(l, ":"):
			if name, _, _ := strings.Cut(l[1:], " "); name != "" {
				f.chains = append(f.chains, saveChain{line: i + 1, table: table, name: name})
			}
		case strings.HasPrefix(l, "-A "):
			f.rules = append(f.rules, parseRule(i+1, table, l))
		}
	}
	return f
}

func parseRule(line int, table, text string) saveRule {
	r := saveRule{line: line, text: text, table: table}
	args := splitArgs(text)
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

// splitArgs splits a rule into words, keeping double-quoted words whole
// (without their quotes; \" stays a quote).
func splitArgs(s string) []string {
	var out []string
	var b strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '"':
			quoted, inWord = !quoted, true
		case c == ' ' && !quoted:
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, b.String())
	}
	return out
}
