package render

import (
	"bytes"

	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// ProbeChain is the chain, in each table, where a probe restore puts the
// probed ports' shared rules: nothing jumps to it, so the kernel checks
// the rules without traffic meeting them. A full sync deletes it as it
// deletes any chain it does not render.
const ProbeChain = snapshot.ChainPrefix + "PROBE"

// WriteProbeBase returns restore text that fills rs's global chains that
// hold no per-port rules and the hairpin chain: what the ports' own
// chains jump to, without touching the shared chains traffic goes through.
func WriteProbeBase(rs *RuleSet) []byte {
	var out bytes.Buffer
	for _, t := range tables {
		var chains []Chain
		for _, g := range rs.Global {
			if g.Table == t && !isShared(g.Table, g.Name) {
				chains = append(chains, g)
			}
		}
		if rs.Hairpin.Table == t {
			chains = append(chains, rs.Hairpin)
		}
		writeTable(&out, chains, t, nil, nil)
	}
	return out.Bytes()
}

// WriteProbe returns restore text that fills the own chains of ports and
// puts their shared rules in ProbeChain: a restore of it fails when the
// kernel refuses one of their rules, and otherwise changes nothing traffic
// sees but the contents of the ports' own chains, which a full sync is
// about to write anyway. Run it after WriteProbeBase.
func WriteProbe(ports []*ServiceRules) []byte {
	var out bytes.Buffer
	for _, t := range tables {
		probe := Chain{Table: t, Name: ProbeChain}
		var chains []Chain
		for _, sr := range ports {
			for _, c := range sr.Chains {
				if c.Table == t {
					chains = append(chains, c)
				}
			}
			for _, r := range sr.Shared {
				if r.Table == t {
					probe.Rules = append(probe.Rules, r.Spec)
				}
			}
		}
		if len(probe.Rules) > 0 {
			chains = append(chains, probe)
		}
		writeTable(&out, chains, t, nil, nil)
	}
	return out.Bytes()
}

// Without returns a copy of rs without the ports in drop; it shares the
// rest with rs. The hairpin chain keeps their addresses: a hairpin rule
// only marks traffic for masquerading.
func Without(rs *RuleSet, drop map[snapshot.ServicePortName]bool) *RuleSet {
	out := *rs
	out.Services = make(map[snapshot.ServicePortName]*ServiceRules, len(rs.Services))
	for name, sr := range rs.Services {
		if !drop[name] {
			out.Services[name] = sr
		}
	}
	return &out
}
