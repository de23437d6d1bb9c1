package render

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// Hooks returns the rules in the built-in chains that send traffic into
// svccheck's chains, in the order they should be ensured.
func Hooks() []HookRule {
	jump := func(t iptables.Table, c iptables.Chain, comment, target string, extra ...string) HookRule {
		args := append([]string{"-m", "comment", "--comment", comment}, extra...)
		return HookRule{Table: t, Chain: c, Args: append(args, "-j", target)}
	}
	newConn := []string{"-m", "conntrack", "--ctstate", "NEW"}
	return []HookRule{
		jump(iptables.TableNAT, iptables.ChainPrerouting, "svccheck service portals", ChainServices),
		jump(iptables.TableNAT, iptables.ChainOutput, "svccheck service portals", ChainServices),
		jump(iptables.TableNAT, iptables.ChainPostrouting, "svccheck postrouting rules", ChainPostrouting),
		jump(iptables.TableFilter, iptables.ChainOutput, "svccheck service portals", ChainServices, newConn...),
		jump(iptables.TableFilter, iptables.ChainForward, "svccheck service portals", ChainServices, newConn...),
		jump(iptables.TableFilter, iptables.ChainInput, "svccheck external service portals", ChainExternalServices, newConn...),
		jump(iptables.TableFilter, iptables.ChainForward, "svccheck external service portals", ChainExternalServices, newConn...),
		jump(iptables.TableFilter, iptables.ChainInput, "svccheck load balancer firewall", ChainProxyFirewall, newConn...),
		jump(iptables.TableFilter, iptables.ChainOutput, "svccheck load balancer firewall", ChainProxyFirewall, newConn...),
		jump(iptables.TableFilter, iptables.ChainForward, "svccheck load balancer firewall", ChainProxyFirewall, newConn...),
		jump(iptables.TableFilter, iptables.ChainInput, "svccheck health check service ports", ChainNodePorts),
		jump(iptables.TableFilter, iptables.ChainForward, "svccheck forwarding rules", ChainForward),
	}
}

// Spec returns h's rule as iptables-save prints it after "-A CHAIN ":
// arguments holding a space or tab in double quotes.
func (h HookRule) Spec() string {
	words := make([]string, len(h.Args))
	for i, a := range h.Args {
		if strings.ContainsAny(a, " \t") {
			a = strconv.Quote(a)
		}
		words[i] = a
	}
	return strings.Join(words, " ")
}

// WithHooks returns restore text data with hooks inserted into the last
// transaction of their table (a table data has no transaction for gets
// one of its own), each at the top of its chain, in order: the same rules
// in the same places as EnsureRule run on each hook in turn after the
// restore. One restore then both fills svccheck's chains and hooks them
// in; one iptables command per hook would each read the whole table and,
// on iptables-legacy, write it back (2.6 s of a 4.4 s first sync at 10k
// Services). The last transaction comes after every chain of the table is
// declared and filled, so the hooks never lead into a missing or half
// filled chain. Like append, WithHooks may reuse data's array: data must
// not be used afterwards.
func WithHooks(data []byte, hooks []HookRule) []byte {
	out := data
	for _, t := range tables {
		var lines []byte
		for _, h := range hooks {
			if h.Table == t {
				lines = fmt.Appendf(lines, "-I %s 1 %s\n", h.Chain, h.Spec())
			}
		}
		if len(lines) == 0 {
			continue
		}
		if at := commitOfLast(out, t); at >= 0 {
			// In place when out has room: a full sync's text is tens
			// of megabytes at 10k Services, not to be copied for a few
			// lines.
			out = slices.Insert(out, at, lines...)
			continue
		}
		out = append(out, "*"+string(t)+"\n"...)
		out = append(out, lines...)
		out = append(out, "COMMIT\n"...)
	}
	return out
}

// commitOfLast returns the offset of the COMMIT line that ends the last
// transaction of table t in data, -1 when data has none.
func commitOfLast(data []byte, t iptables.Table) int {
	head := "*" + string(t) + "\n"
	start := bytes.LastIndex(data, []byte("\n"+head))
	switch {
	case start >= 0:
		start++
	case bytes.HasPrefix(data, []byte(head)):
		start = 0
	default:
		return -1
	}
	end := bytes.Index(data[start:], []byte("\nCOMMIT\n"))
	if end < 0 {
		return -1
	}
	return start + end + 1
}
