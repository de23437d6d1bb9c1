package render

import (
	"net/netip"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
	"github.com/svccheck/svccheck/proxyimpl/snapshot"
)

// Global chains. Chains of the same name exist in both tables where noted.
const (
	// ChainServices is the dispatch chain: nat (cluster, external and load
	// balancer IPs to per-port chains, directly or through the dispatch
	// bucket chains, see DispatchPrefix) and filter (REJECT/DROP of ports
	// without usable endpoints).
	ChainServices = snapshot.ChainPrefix + "SERVICES"
	// ChainExternalServices (filter) rejects or drops external traffic to
	// ports without endpoints for it.
	ChainExternalServices = snapshot.ChainPrefix + "EXTERNAL-SERVICES"
	// ChainNodePorts is the node port chain: nat (node ports to EXT
	// chains) and filter (accepting health check node ports).
	ChainNodePorts = snapshot.ChainPrefix + "NODEPORTS"
	// ChainMarkMasq (nat) marks a packet for masquerading.
	ChainMarkMasq = snapshot.ChainPrefix + "MARK-MASQ"
	// ChainPostrouting (nat) masquerades marked packets.
	ChainPostrouting = snapshot.ChainPrefix + "POSTROUTING"
	// ChainHairpin (nat) marks DNATed connections from a local endpoint to
	// itself.
	ChainHairpin = snapshot.ChainPrefix + "HAIRPIN"
	// ChainForward (filter) accepts forwarded proxied traffic.
	ChainForward = snapshot.ChainPrefix + "FORWARD"
	// ChainProxyFirewall (filter) drops new connections to load balancer
	// IPs that their port's FW chain did not let through (still addressed
	// to the load balancer IP, not DNATed).
	ChainProxyFirewall = snapshot.ChainPrefix + "PROXY-FIREWALL"
)

// DefaultMasqueradeMark is the fwmark bit marking packets to masquerade.
const DefaultMasqueradeMark uint32 = 0x4000

// Config holds the settings of the rendering that are not in the Snapshot.
type Config struct {
	// MasqueradeMark is the fwmark bit (one bit set) that marks packets for
	// masquerading; 0 means DefaultMasqueradeMark.
	MasqueradeMark uint32
	// BreakAffinity renders no ClientIP session affinity rules: a proxy
	// broken on purpose, so svccheck run --break affinity can show that the
	// Affinity specs catch it. Never set it otherwise.
	BreakAffinity bool
	// BreakTerminating renders no fallback to serving terminating
	// endpoints: only ready endpoints are used, so a Service whose
	// endpoints are all terminating rejects. Broken on purpose for
	// svccheck run --break terminating; never set it otherwise.
	BreakTerminating bool
	// BreakETPLocal ignores externalTrafficPolicy Local: external traffic
	// goes to every endpoint and is masqueraded, as under Cluster. Broken
	// on purpose for svccheck run --break etplocal; never set it otherwise.
	BreakETPLocal bool
	// BreakReject drops, instead of rejecting, traffic to a Service port
	// with no endpoints at all. Broken on purpose for svccheck run --break
	// reject; never set it otherwise.
	BreakReject bool
	// FlatDispatch dispatches every Service address from the one nat
	// ChainServices, as kube-proxy's iptables mode does, however many
	// there are: a first packet to the last of N walks N rules. For
	// comparisons only.
	FlatDispatch bool
}

// Rule is one rule of a shared chain.
type Rule struct {
	// Table is the rule's table.
	Table iptables.Table
	// Chain is the chain the rule is in.
	Chain string
	// Spec is the rule as iptables-save prints it after "-A CHAIN ".
	Spec string
}

// Chain is a chain and all of its rules.
type Chain struct {
	// Table is the chain's table.
	Table iptables.Table
	// Name is the chain name.
	Name string
	// Rules are the rule specs in order, each as iptables-save prints it
	// after "-A CHAIN ".
	Rules []string
}

// ServiceRules is everything one Service port contributes.
type ServiceRules struct {
	// Name is the Service port.
	Name snapshot.ServicePortName
	// Chains are the port's own chains (SVC, EXT, CLU, FW), possibly none.
	Chains []Chain
	// Shared are the port's rules in the shared chains (ChainServices or
	// a dispatch bucket chain, ChainNodePorts, ChainExternalServices,
	// ChainProxyFirewall in either table).
	Shared []Rule
	// HairpinIPs are the local endpoint addresses that need a hairpin rule.
	HairpinIPs []netip.Addr
}

// RuleSet is the whole rendered proxy state.
type RuleSet struct {
	// Global are the global chains with their fixed rules; the shared ones
	// get the ports' Shared rules before their fixed rules (the nat
	// ChainServices node port jump must stay last). The dispatch bucket
	// chains are among them, empty, and their jumps among the fixed
	// rules of the nat ChainServices.
	Global []Chain
	// DispatchBits is the size of the dispatch tree: 0 when the nat
	// ChainServices holds every port's dispatch rules, else the number of
	// lowest address bits that pick a bucket chain (2^DispatchBits).
	DispatchBits int
	// Hairpin is the hairpin chain, built from all ports' HairpinIPs.
	Hairpin Chain
	// Services maps each rendered port to its rules.
	Services map[snapshot.ServicePortName]*ServiceRules
	// Skipped maps each port rendered without rules, as iptables would
	// refuse them and fail the restore for every port, to the reason.
	// Nil when there is none.
	Skipped map[snapshot.ServicePortName]string
}

// TableStats counts what one restore text does to one table.
type TableStats struct {
	// Chains is the number of chains declared (created or flushed).
	Chains int
	// Rules is the number of rules added (-A and -I).
	Rules int
	// Deleted is the number of rules (-D) and chains (-X) deleted.
	Deleted int
	// Kept is the number of chains a full sync left as they were, the
	// kernel already holding exactly their rules.
	Kept int
}

// Stats counts per table what one restore text does.
type Stats map[iptables.Table]TableStats

// HookRule is a jump from a built-in chain into svccheck's chains. The
// rendered chains do not contain them: a full sync inserts the missing
// ones into its restore text (WithHooks), and cleanup deletes them.
type HookRule struct {
	// Table and Chain locate the rule.
	Table iptables.Table
	Chain iptables.Chain
	// Args is the rule without -A/-I and the chain, as separate arguments.
	Args []string
}
