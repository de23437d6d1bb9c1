package diag

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// iptablesBackend is one iptables userspace flavour and its save command.
type iptablesBackend struct {
	name string
	save string
}

// backends in order of preference on a tie: nft is what current kind node
// images (and kube-proxy's own detection) default to.
var backends = []iptablesBackend{
	{"nft", "iptables-nft-save"},
	{"legacy", "iptables-legacy-save"},
}

// backendDump is one backend's nat and filter dumps.
type backendDump struct {
	backend iptablesBackend
	nat     record
	filter  record
}

func (d backendDump) works() bool { return !d.nat.failed() || !d.filter.failed() }

func (d backendDump) rules() int { return countRules(d.nat.stdout) + countRules(d.filter.stdout) }

// countRules counts the rules of iptables-save output, with or without
// "[packets:bytes]" counters.
func countRules(save []byte) int { return ipsave.Summarize(save).Rules }

// iptablesCommands are the save commands iptablesFiles runs first.
func iptablesCommands() [][]string {
	var out [][]string
	for _, b := range backends {
		out = append(out, saveArgs(b.save, "nat"), saveArgs(b.save, "filter"))
	}
	return out
}

func saveArgs(save, table string) []string { return []string{save, "-c", "-t", table} }

// iptablesFiles dumps nat and filter with every backend and keeps, as
// iptables-nat.txt and iptables-filter.txt, the backend holding more rules
// (nft on a tie). The other backend's dumps are kept beside when it holds
// rules too. When neither flavoured command works, plain iptables-save is
// used. iptables-backend.txt says what was found.
func iptablesFiles(ctx context.Context, node Node, timeout time.Duration) []record {
	dumps := make([]backendDump, len(backends))
	for i, b := range backends {
		dumps[i] = backendDump{
			backend: b,
			nat:     run(ctx, node.Cmder, timeout, FileIPTablesNAT, saveArgs(b.save, "nat")...),
			filter:  run(ctx, node.Cmder, timeout, FileIPTablesFilter, saveArgs(b.save, "filter")...),
		}
	}
	var explain []string
	primary := -1
	for i, d := range dumps {
		if !d.works() {
			explain = append(explain, fmt.Sprintf("%s: %s does not work (%v)", d.backend.name, d.backend.save, firstErr(d.nat, d.filter)))
			continue
		}
		explain = append(explain, fmt.Sprintf("%s: %d rules in nat and filter", d.backend.name, d.rules()))
		if primary < 0 || d.rules() > dumps[primary].rules() {
			primary = i
		}
	}
	if primary < 0 {
		plain := backendDump{
			backend: iptablesBackend{"default", "iptables-save"},
			nat:     run(ctx, node.Cmder, timeout, FileIPTablesNAT, "iptables-save", "-c", "-t", "nat"),
			filter:  run(ctx, node.Cmder, timeout, FileIPTablesFilter, "iptables-save", "-c", "-t", "filter"),
		}
		explain = append(explain, "falling back to iptables-save")
		dumps, primary = append(dumps, plain), len(dumps)
	}
	chosen := dumps[primary]
	explain = append(explain, fmt.Sprintf("dumped backend: %s (%s and %s)", chosen.backend.name, FileIPTablesNAT, FileIPTablesFilter))
	note := "backend " + chosen.backend.name
	chosen.nat.header = append(chosen.nat.header, note)
	chosen.filter.header = append(chosen.filter.header, note)
	files := []record{chosen.nat, chosen.filter}
	for i, d := range dumps {
		if i == primary || !d.works() || d.rules() == 0 {
			continue
		}
		explain = append(explain, fmt.Sprintf("backend %s holds rules too: dumped as iptables-%s-nat.txt and iptables-%s-filter.txt",
			d.backend.name, d.backend.name, d.backend.name))
		d.nat.name = "iptables-" + d.backend.name + "-nat.txt"
		d.filter.name = "iptables-" + d.backend.name + "-filter.txt"
		files = append(files, d.nat, d.filter)
	}
	var b bytes.Buffer
	for _, line := range explain {
		b.WriteString(line + "\n")
	}
	return append(files, record{name: FileIPTablesBackend, stdout: b.Bytes()})
}

func firstErr(rs ...record) error {
	for _, r := range rs {
		if r.err != nil {
			return r.err
		}
	}
	return nil
}
