// Package proxyimpl is svccheck's own Service proxy: it watches Services,
// EndpointSlices and Nodes and programs the nat and filter tables the way
// kube-proxy's iptables mode does, under its own chain prefix.
//
// # Packages
//
// snapshot turns API objects into the proxy's model (Service ports with
// their chosen endpoints); render turns that model into rules and
// iptables-restore text. Both are pure. iptables runs the commands; the
// controller in this package ties informers, change tracking and the sync
// loop together.
//
// # Rule shape
//
// kube-proxy's iptables mode is the behavioural reference, with one
// structural difference: there are no per-endpoint chains. A chain per
// endpoint is what makes large rule sets slow to restore on iptables-nft
// (10k Services x 10 endpoints took over 23 minutes), so endpoints are
// load-balanced inline in the per-port chains. All chains start with
// "SVCCHK-" and are at most 28 characters long; every rule carries a
// comment naming its Service port ("ns/name:port ...") or svccheck.
//
// nat table:
//
//   - SVCCHK-SERVICES (from PREROUTING and OUTPUT): per port and cluster IP
//     "-d VIP/32 -p P --dport N -j SVCCHK-SVC-<hash>" when the port has
//     endpoints for internal traffic; external and load balancer IPs jump
//     to SVCCHK-EXT-<hash> (load balancer IPs through SVCCHK-FW-<hash>
//     when the Service has loadBalancerSourceRanges). The last rule sends
//     local destinations to SVCCHK-NODEPORTS, which jumps per node port
//     to the EXT chain. Above 64 Service ports these per-address rules
//     move into dispatch bucket chains SVCCHK-DSP-<bits>-<i>, and
//     SVCCHK-SERVICES holds one "-d 0.0.0.<i>/0.0.0.<2^bits-1> -j
//     SVCCHK-DSP-<bits>-<i>" per bucket: the lowest bits of the
//     destination pick the bucket, about sqrt(N) of them (128 at 10k), so
//     a first packet walks about 2 sqrt(N) rules rather than N. The
//     bucket count changes only when the number of ports leaves a window
//     around it ([0.375, 2] x 4^bits); the sync that crosses it writes
//     every chain, as a full sync does, and deletes the old buckets.
//   - SVCCHK-SVC-<hash>: "! -s <cluster CIDR> -j SVCCHK-MARK-MASQ" (when a
//     cluster CIDR is configured), then per endpoint i of n a DNAT rule
//     with "-m statistic --mode random --probability 1/(n-i)" (the last
//     without). internalTrafficPolicy Local keeps only local endpoints.
//   - ClientIP affinity, inline too: before the DNAT rules, per endpoint
//     "-m recent --update --seconds T --reap --name SVCCHK-AFF-<hash>
//     --mask 255.255.255.255 --rsource -j DNAT" (the hash covers port and
//     endpoint); each load-balancing rule adds "-m recent --set" for its
//     endpoint's list after the statistic match.
//   - SVCCHK-EXT-<hash>: externalTrafficPolicy Cluster marks for
//     masquerade and jumps to the cluster endpoints. Local short-circuits
//     pod traffic (-s cluster CIDR) and node traffic (--src-type LOCAL,
//     marked) to the cluster endpoints, then load-balances to the local
//     endpoints without masquerade, keeping the client address. With no
//     local endpoint nothing is DNATed and the filter table drops it.
//     The cluster endpoints are the SVC chain, or, when internal traffic
//     is node-local, a SVCCHK-CLU-<hash> chain holding all of them.
//   - SVCCHK-FW-<hash>, as kube-proxy's iptables mode does: per IPv4
//     source range "-s CIDR -j SVCCHK-EXT-<hash>", and when a range holds
//     one of the node's addresses the same for each load balancer IP as a
//     source (a node reaching a load balancer IP it holds locally sends
//     from that IP); a last rule without a target names the port. Other
//     sources fall off the end un-DNATed and the filter table drops them.
//     Only load balancer IPs are guarded: node ports and external IPs stay
//     open to every source, as with kube-proxy.
//   - SVCCHK-MARK-MASQ sets the masquerade bit (0x4000 by default).
//     SVCCHK-POSTROUTING (from POSTROUTING) first sends DNATed connections
//     to SVCCHK-HAIRPIN, then masquerades marked packets (--random-fully)
//     after clearing the bit.
//   - SVCCHK-HAIRPIN replaces the per-endpoint "-s EP -j MARK-MASQ" rules:
//     one "-s EP/32 -d EP/32 -j SVCCHK-MARK-MASQ" per unique local endpoint
//     address (and per endpoint without a node name), its comment naming
//     the Service ports the address serves (as many as fit in an iptables
//     comment, then a count), so a pod reaching itself through its Service is masqueraded. Only local endpoints can
//     hairpin, so the chain stays short.
//
// filter table:
//
//   - SVCCHK-SERVICES (from OUTPUT and FORWARD, new connections): REJECT
//     cluster IP traffic of ports with no usable endpoint at all, DROP it
//     when endpoints exist but none for internal traffic (policy Local).
//   - SVCCHK-EXTERNAL-SERVICES (from INPUT and FORWARD, new connections):
//     the same for node ports (--dst-type LOCAL), external and load
//     balancer IPs, DROP meaning externalTrafficPolicy Local without local
//     endpoints.
//   - SVCCHK-PROXY-FIREWALL (from INPUT, OUTPUT and FORWARD, new
//     connections): per load balancer IP of a port with source ranges,
//     "-d LBIP/32 -p P --dport N -j DROP"; it only sees what the FW chain
//     did not DNAT.
//   - SVCCHK-NODEPORTS (from INPUT) accepts health check node ports.
//   - SVCCHK-FORWARD (from FORWARD) first drops packets conntrack finds
//     INVALID, as kube-proxy does unless nf_conntrack_tcp_be_liberal is
//     set: a TCP segment outside the window of a DNATed connection skips
//     nat, would leave the node with the endpoint's address, and the
//     client's RST to that address would reset the connection (kubernetes
//     issues 74839, 117924). svccheck's proxy has no be-liberal setting
//     and always installs the drop. Then it accepts marked traffic and
//     RELATED,ESTABLISHED connections.
//
// The jumps from the built-in chains (render.Hooks) are not rendered with
// the chains: a full sync compares them with the iptables-save it reads
// anyway and inserts the missing ones, each at the top of its chain, in
// the last transaction of its table's restore text (render.WithHooks), so
// the first sync is one restore rather than one per hook as well, each
// reading the whole table (and on iptables-legacy writing it back).
// Cleanup deletes them before deleting the chains.
//
// # Incremental sync
//
// render produces a RuleSet: global chains, a hairpin chain, and per port
// its own chains and its rules in the shared chains (nat SERVICES or its
// dispatch bucket, NODEPORTS, filter SERVICES, EXTERNAL-SERVICES and
// NODEPORTS). The first
// sync, any sync after a failed restore or a Node address change, and one
// every sync period are full syncs: they read both tables with
// iptables-save, rewrite every SVCCHK- chain whose rules differ from the
// rendered ones (missing, changed behind the proxy's back, or rendered
// anew) and delete stale SVCCHK- chains, after deleting every rule in
// other chains (built-in or not) that jumps or goes to one: the kernel
// refuses to delete a chain something jumps to, and an older version's
// hook or a debug rule would otherwise fail every full sync. A chain the
// kernel already holds exactly is left alone, which needs the renderer to spell every rule as
// iptables-save prints it (MARK --set-xmark, probabilities with eleven
// decimals; TestIntegrationCanonicalSpelling checks it on both backends).
// A restarted proxy thus repairs what differs without touching the rest.
// Later syncs re-render only the changed ports and
// write only them: their own chains are flushed and refilled (or flushed
// and deleted), and in the shared chains their old rules are removed with
// "-D <exact old rule>" and the new ones inserted with "-I CHAIN 1" (the
// node port jump stays last). Hairpin rules are independent of each other
// and are likewise deleted and appended one by one. Unchanged ports produce
// no lines. A "-D" that does not match makes the restore fail, which forces
// the next full sync.
//
// # Stale UDP flows
//
// A UDP flow keeps the DNAT its conntrack entry recorded for as long as
// packets keep coming, whatever the rules say now. After every successful
// sync the proxy therefore reads the live IPv4 conntrack table through
// netlink (package conntrack; no conntrack binary) and deletes each UDP
// flow to a Service port (cluster, external or load balancer IP with the
// port, or the node port on any address) whose reply source is not a
// serving endpoint ip:port of that port: a removed or replaced endpoint, a
// moved target port, or a flow made before the port had an endpoint (not
// DNATed, so its reply source is the Service address itself). Ports without
// serving endpoints are left alone, as kube-proxy does. Because the table
// itself is the reference, a deletion that failed is retried at the next
// sync and a restarted proxy clears what changed while it was down.
//
// # Failures
//
// A port whose rules iptables would refuse for their form (a comment over
// 255 bytes, from names the API server would not allow) is not rendered
// and gets a Warning Event (SvccheckInvalidService); the others are
// programmed. When the kernel refuses a full sync's restore, the proxy
// finds the ports it refuses by restoring halves of them in turn (their
// own chains, and their shared rules in an unreferenced SVCCHK-PROBE
// chain, so traffic meets nothing new), writes everything else, and
// emits a Warning Event (SvccheckFailedToProgram) on each refused port's
// Service; those ports stay out until they change or the next full sync.
// A failed restore's error quotes the input lines around the one
// iptables-restore blames.
//
// # Restore text
//
// Chains are declared in name order and the nat table comes before the
// filter table: iptables-nft keeps chains in a name-ordered list, so
// declaring thousands of hash-named chains out of order makes a restore
// quadratic (148 s instead of 40 s at 10k Services x 10 endpoints on a
// loaded machine), and a large nat table restores markedly faster when the
// filter table does not precede it. Rule specs are written in
// iptables-save's order, so "-D" finds them.
//
// iptables-nft's restore time also grows faster than linearly with the size
// of one transaction, so for the nft backend render.WriteFullBatched splits
// a full sync's nat table into several transactions (global chains first,
// then the ports' own chains, a port never split, then the shared chains
// and stale chain deletion), each state in between consistent. Into empty
// tables, transactions of about 1000 rules are fastest (10k Services x 10
// endpoints went from 17 s to 4.4 s). Over a live table every commit costs
// the kernel a validation walk of all reachable rules, so render.BatchRules
// grows the transactions with the rules already there (a rewrite of every
// port chain at 10k went from 12.3 s to 5.7 s). iptables-legacy rewrites
// the whole table at every COMMIT, so it gets one transaction (WriteFull).
//
// # Limits
//
// IPv4 only: IPv6 loadBalancerSourceRanges are dropped, so a Service whose
// ranges are all IPv6 leaves its IPv4 load balancer IPs open, as
// kube-proxy's IPv4 proxier does. Topology hints and trafficDistribution
// are ignored. Only the first IPv4 cluster CIDR
// is used for masquerade decisions; without one, traffic to cluster IPs
// is not masqueraded by source and pod traffic to an
// externalTrafficPolicy Local port is not short-circuited.
package proxyimpl
