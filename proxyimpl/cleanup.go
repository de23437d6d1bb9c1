package proxyimpl

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// savedTable is what parseSave keeps of one table.
type savedTable struct {
	// chains lists every chain, built-in ones included, in order.
	chains []string
	// hooks are rules outside svccheck's chains that jump or go to one of
	// them, as "CHAIN spec".
	hooks []savedRule
	// own maps each of svccheck's chains to its rules (the text after
	// "-A CHAIN "), an empty list for an empty chain.
	own map[string][]string
}

// savedRule is one rule: its chain, the text after "-A CHAIN " and, for a
// hook, the svccheck chain it leads to.
type savedRule struct {
	chain, spec, target string
}

// parseSave reads iptables-save output (without counters) through
// ipsave.Scan: per table, the chains, the rules that lead into svccheck's
// chains and the rules of svccheck's chains.
func parseSave(data []byte) map[iptables.Table]*savedTable {
	out := map[iptables.Table]*savedTable{}
	var cur *savedTable
	_ = ipsave.Scan(data, func(l ipsave.Line) error {
		switch {
		case l.Kind == ipsave.LineTable:
			cur = &savedTable{own: map[string][]string{}}
			out[l.Table] = cur
		case cur == nil:
		case l.Kind == ipsave.LineChain:
			name := string(l.Chain)
			cur.chains = append(cur.chains, name)
			if strings.HasPrefix(name, snapshot.ChainPrefix) {
				cur.own[name] = []string{}
			}
		case l.Kind == ipsave.LineRule:
			chain := string(l.Chain)
			switch {
			case strings.HasPrefix(chain, snapshot.ChainPrefix):
				if rules, ok := cur.own[chain]; ok {
					cur.own[chain] = append(rules, l.Spec)
				}
			default:
				if target := ourTarget(l.Spec); target != "" {
					cur.hooks = append(cur.hooks, savedRule{chain: chain, spec: l.Spec, target: target})
				}
			}
		}
		return nil
	})
	return out
}

// ourTarget returns the svccheck chain a rule spec jumps or goes to, ""
// when its target is not one of svccheck's chains. The spec is split as
// iptables-restore splits it: a quoted comment that reads "-j SVCCHK-..."
// is one word, not a target.
func ourTarget(spec string) string {
	f, err := iptables.SplitWords(spec)
	if err != nil {
		return ""
	}
	for i := 0; i+1 < len(f); i++ {
		if (f[i] == "-j" || f[i] == "-g") && strings.HasPrefix(f[i+1], snapshot.ChainPrefix) {
			return f[i+1]
		}
	}
	return ""
}

// CleanupResult counts what Cleanup removed.
type CleanupResult struct {
	// Chains is the number of svccheck chains deleted.
	Chains int
	// Hooks is the number of jump rules deleted from other chains.
	Hooks int
}

// Cleanup removes every chain svccheck's proxy creates (the ones starting
// with SVCCHK-) and every rule in other chains that jumps to one of them,
// in one restore, and nothing else. It finds them with iptables-save.
func Cleanup(ctx context.Context, ipt iptables.Interface) (CleanupResult, error) {
	var res CleanupResult
	var text bytes.Buffer
	for _, t := range []iptables.Table{iptables.TableFilter, iptables.TableNAT} {
		data, err := ipt.Save(ctx, t, false)
		if err != nil {
			return res, fmt.Errorf("saving the %s table: %w", t, err)
		}
		st := parseSave(data)[t]
		if st == nil {
			continue
		}
		var ours []string
		for _, c := range st.chains {
			if strings.HasPrefix(c, snapshot.ChainPrefix) {
				ours = append(ours, c)
			}
		}
		if len(ours) == 0 && len(st.hooks) == 0 {
			continue
		}
		fmt.Fprintf(&text, "*%s\n", t)
		for _, c := range ours {
			fmt.Fprintf(&text, ":%s - [0:0]\n", c)
		}
		for _, h := range st.hooks {
			fmt.Fprintf(&text, "-D %s %s\n", h.chain, h.spec)
		}
		for _, c := range ours {
			fmt.Fprintf(&text, "-X %s\n", c)
		}
		text.WriteString("COMMIT\n")
		res.Chains += len(ours)
		res.Hooks += len(st.hooks)
	}
	if text.Len() == 0 {
		return res, nil
	}
	if err := ipt.Restore(ctx, text.Bytes()); err != nil {
		return CleanupResult{}, fmt.Errorf("deleting svccheck's chains and jumps: %w", err)
	}
	return res, nil
}
