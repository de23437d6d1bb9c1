package reports

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// NodeTables are one node's iptables tables as report.html shows them.
type NodeTables struct {
	// Node is the node's name.
	Node string
	// Dir is the dump directory, relative to the output directory.
	Dir string
	// Tables are the dumped tables, nat before filter.
	Tables []Table
}

// Table is one iptables-save table of a dump file.
type Table struct {
	// Name is the table's name (nat, filter).
	Name string
	// File is the dump file, relative to the output directory.
	File string
	// Chains are the table's chains in iptables-save's order.
	Chains []Chain
	// Services lists the Service ports whose rules the table holds, sorted,
	// each with the chains that serve it.
	Services []ServiceChains

	chains map[string]bool
}

// Chain is one chain and its rules.
type Chain struct {
	// Name is the chain's name.
	Name string
	// Service is the Service port ("namespace/name:port") the chain's
	// rules name in their comments, if one dominates.
	Service string
	// Rules are the chain's rules.
	Rules []Rule
}

// Rule is one "-A" line of iptables-save output.
type Rule struct {
	// Line is the rule's line number in the dump file.
	Line int
	// Text is the rule as iptables-save printed it, without counters.
	Text string
	// Counters is the "[packets:bytes]" prefix, when dumped with -c.
	Counters string
	// Jump is the chain the rule jumps or goes to, when it is a chain of
	// the same table.
	Jump string
}

// ServiceChains is a Service port and the chains that hold its rules.
type ServiceChains struct {
	Service string
	Chains  []string
}

// builtinChains are iptables' own chains.
var builtinChains = map[string]bool{"PREROUTING": true, "INPUT": true, "FORWARD": true, "OUTPUT": true, "POSTROUTING": true}

// serviceComment matches the Service port a rule comment of svccheck's
// proxy or kube-proxy names: namespace/name[:port].
var serviceComment = regexp.MustCompile(`--comment "?([a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[-a-z0-9]*)?)`)

// ParseTables reads iptables-save output into tables, through ipsave's
// line reader. Services are grouped from the rule comments; a chain
// belongs to the Service most of its rules name.
func ParseTables(data []byte, file string) []Table {
	var tables []Table
	index := map[string]int{}
	chain := func(t *Table, name string) *Chain {
		i, ok := index[name]
		if !ok {
			i = len(t.Chains)
			index[name] = i
			t.Chains = append(t.Chains, Chain{Name: name})
		}
		return &t.Chains[i]
	}
	// The callback returns no error, and reading from memory cannot fail.
	_ = ipsave.Scan(data, func(l ipsave.Line) error {
		if l.Kind == ipsave.LineTable {
			tables = append(tables, Table{Name: string(l.Table), File: file})
			clear(index)
			return nil
		}
		if len(tables) == 0 {
			return nil
		}
		cur := &tables[len(tables)-1]
		switch l.Kind {
		case ipsave.LineChain:
			chain(cur, string(l.Chain))
		case ipsave.LineRule:
			counters, text := splitCounters(l.Text)
			c := chain(cur, string(l.Chain))
			c.Rules = append(c.Rules, Rule{Line: l.Num, Text: text, Counters: counters, Jump: jumpTarget(text)})
		}
		return nil
	})
	for i := range tables {
		groupServices(&tables[i])
		tables[i].chains = map[string]bool{}
		for _, c := range tables[i].Chains {
			tables[i].chains[c.Name] = true
		}
	}
	return tables
}

// splitCounters splits "[p:b] -A ..." into its counters and the rule.
func splitCounters(line string) (counters, text string) {
	text = ipsave.StripCounters(line)
	if text != line {
		counters = strings.TrimSpace(strings.TrimSuffix(line, text))
	}
	return counters, text
}

// jumpTarget returns the chain after -j or -g, if the rule has one.
func jumpTarget(text string) string {
	f := strings.Fields(text)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "-j" || f[i] == "-g" || f[i] == "--jump" || f[i] == "--goto" {
			return f[i+1]
		}
	}
	return ""
}

// groupServices sets each chain's Service and the table's Services.
func groupServices(t *Table) {
	byService := map[string][]string{}
	for i := range t.Chains {
		c := &t.Chains[i]
		votes := map[string]int{}
		for _, r := range c.Rules {
			if m := serviceComment.FindStringSubmatch(r.Text); m != nil {
				votes[m[1]]++
			}
		}
		best := ""
		for svc, n := range votes {
			if n > votes[best] || (n == votes[best] && svc < best) {
				best = svc
			}
		}
		// A dispatch chain (many Services, one rule each) belongs to none.
		if best == "" || builtinChains[c.Name] || (len(votes) > 1 && votes[best]*2 <= len(c.Rules)) {
			continue
		}
		c.Service = best
		byService[best] = append(byService[best], c.Name)
	}
	for svc, chains := range byService {
		t.Services = append(t.Services, ServiceChains{Service: svc, Chains: chains})
	}
	slices.SortFunc(t.Services, func(a, b ServiceChains) int { return strings.Compare(a.Service, b.Service) })
}

// tableFiles are the dump files report.html shows, in order, with the
// table each must hold.
var tableFiles = []string{"iptables-nat.txt", "iptables-filter.txt"}

// ReadNodeTables reads the nat and filter dumps in dir (relative to root).
// Missing files are left out; a node with neither yields no tables.
func ReadNodeTables(root, dir, node string) NodeTables {
	nt := NodeTables{Node: node, Dir: dir}
	for _, name := range tableFiles {
		rel := filepath.ToSlash(filepath.Join(dir, name))
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			continue
		}
		nt.Tables = append(nt.Tables, ParseTables(data, rel)...)
	}
	return nt
}

// HasChain reports whether t has a chain named name.
func (t Table) HasChain(name string) bool {
	return t.chains[name]
}
