package render

import "github.com/svccheck/svccheck/proxyimpl/iptables"

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
