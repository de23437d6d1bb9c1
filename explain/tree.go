package explain

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// treeNode is one step shared by the paths below it.
type treeNode struct {
	step     *Step
	prob     float64
	children []*treeNode
	ends     []*Path
}

// key identifies a step among its siblings.
func key(s *Step) string {
	return fmt.Sprintf("%s/%s/%d/%v", s.Table, s.Chain, s.Rule, s.Matched)
}

// tree merges the paths' walks: paths share a node as long as their
// steps agree, and part where a statistic branch (or a verdict) splits them.
func tree(ex *Explanation) *treeNode {
	root := &treeNode{}
	for i := range ex.Paths {
		p := &ex.Paths[i]
		n := root
		n.prob += p.Probability
		for j := range p.Steps {
			s := &p.Steps[j]
			var next *treeNode
			for _, c := range n.children {
				if key(c.step) == key(s) {
					next = c
				}
			}
			if next == nil {
				next = &treeNode{step: s}
				n.children = append(n.children, next)
			}
			next.prob += p.Probability
			n = next
		}
		n.ends = append(n.ends, p)
	}
	return root
}

// WriteTree prints ex for people: a summary, then the walk as a tree that
// forks where the paths part.
func WriteTree(w io.Writer, ex *Explanation) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s -> %s, first packet on node %s\n", ex.Source, ex.Target, ex.Node)
	services := "none"
	if len(ex.Services) > 0 {
		services = strings.Join(ex.Services, ", ")
	}
	fmt.Fprintf(b, "Service ports named by the rules: %s\n", services)
	fmt.Fprintf(b, "outcome: %s\n", ex.Outcome)
	if ex.FromKernel {
		// No iptables proxy rule: the computed walk is only policies.
		writeKernel(b, ex)
		_, err := io.WriteString(w, b.String())
		return err
	}
	for _, e := range endpoints(ex) {
		fmt.Fprintf(b, "  %s\n", e)
	}
	b.WriteString("\n")
	writeNode(b, tree(ex), "", map[string]bool{})
	if ex.Kernel != nil {
		writeKernel(b, ex)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// endpoints sums the branches up by where they end.
func endpoints(ex *Explanation) []string {
	type sum struct {
		p    float64
		masq bool
	}
	sums := map[string]*sum{}
	var order []string
	for _, p := range ex.Paths {
		k := p.Verdict + " " + p.Destination
		if p.DNAT {
			k = p.Verdict + " DNAT to " + p.Destination
		}
		if sums[k] == nil {
			sums[k] = &sum{}
			order = append(order, k)
		}
		sums[k].p += p.Probability
		sums[k].masq = sums[k].masq || p.Masquerade
	}
	var out []string
	for _, k := range order {
		m := "not masqueraded"
		if sums[k].masq {
			m = "masqueraded"
		}
		out = append(out, fmt.Sprintf("%5.1f%%  %s, %s", 100*sums[k].p, k, m))
	}
	return out
}

// writeNode prints n's step, its path ends and its children; one child
// follows at the same indent, several fork.
func writeNode(b *strings.Builder, n *treeNode, indent string, named map[string]bool) {
	if n.step != nil {
		for _, l := range strings.Split(stepLine(n.step, named), "\n") {
			b.WriteString(indent + l + "\n")
		}
	}
	for _, p := range n.ends {
		b.WriteString(indent + endLine(p) + "\n")
	}
	if len(n.children) == 1 && len(n.ends) == 0 {
		writeNode(b, n.children[0], indent, named)
		return
	}
	for i, c := range n.children {
		glyph, more := "├─ ", "│  "
		if i == len(n.children)-1 {
			glyph, more = "└─ ", "   "
		}
		fmt.Fprintf(b, "%s%s%.1f%% of new connections:\n", indent, glyph, 100*c.prob)
		writeNode(b, c, indent+more, maps(named))
	}
}

func maps(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// stepLine formats one step: where it is, the rule, and what it does.
func stepLine(s *Step, named map[string]bool) string {
	where := fmt.Sprintf("%s %s", s.Table, s.Chain)
	if s.Rule > 0 {
		where += fmt.Sprintf(" #%d", s.Rule)
	}
	if s.Line > 0 {
		where += fmt.Sprintf(" (%s:%d)", s.File, s.Line)
	}
	line := where + ": " + s.Text
	var notes []string
	if !s.Matched {
		notes = append(notes, "no match")
	}
	if s.Note != "" {
		notes = append(notes, s.Note)
	}
	if s.Service != "" && !named[s.Service] {
		named[s.Service] = true
		notes = append(notes, "Service port "+s.Service)
	}
	if len(notes) > 0 {
		line += "\n    <- " + strings.Join(notes, "; ")
	}
	return line
}

// endLine formats where a path ends.
func endLine(p *Path) string {
	to := p.Destination
	if p.DNAT {
		to = "DNAT to " + p.Destination
	}
	m := "not masqueraded"
	if p.Masquerade {
		m = "masqueraded"
	}
	aff := ""
	if len(p.AffinitySet) > 0 {
		aff = ", affinity recorded in " + strings.Join(slices.Compact(slices.Clone(p.AffinitySet)), ",")
	}
	return fmt.Sprintf("=> %s: %s, %s%s (%d rules walked)", p.Verdict, to, m, aff, p.RulesWalked)
}
