package specs

// Labels of the specs, for --label-filter.
const (
	// LabelClusterIP marks ClusterIP Service specs.
	LabelClusterIP = "ClusterIP"
	// LabelNodePort marks NodePort Service specs.
	LabelNodePort = "NodePort"
	// LabelETPLocal marks externalTrafficPolicy Local specs.
	LabelETPLocal = "ETPLocal"
	// LabelAffinity marks session affinity (ClientIP) specs.
	LabelAffinity = "Affinity"
	// LabelITPLocal marks internalTrafficPolicy Local specs.
	LabelITPLocal = "ITPLocal"
	// LabelTerminating marks specs of terminating, unready and removed
	// endpoints.
	LabelTerminating = "Terminating"
	// LabelExternalIP marks specs of Services reached by spec.externalIPs.
	LabelExternalIP = "ExternalIP"
	// LabelHeadless marks headless Service specs.
	LabelHeadless = "Headless"
	// LabelUDP marks specs that send UDP.
	LabelUDP = "UDP"
	// LabelDNS marks specs that resolve names through the cluster DNS.
	LabelDNS = "DNS"
	// LabelRules marks specs that read the nodes' iptables rules.
	LabelRules = "Rules"
	// LabelExternal marks specs that probe from a client container outside
	// the cluster (on the kind network, not a node).
	LabelExternal = "External"
	// LabelSlow marks specs that wait on purpose (timeouts) and take longer.
	LabelSlow = "Slow"
	// LabelDisruptive marks specs that disturb the whole cluster (restart
	// the proxy's pods); specs beside them may need retries, which their
	// budgets allow.
	LabelDisruptive = "Disruptive"
	// LabelScale marks the network programming latency measurement of
	// `svccheck run --scale N`: off unless --scale selects it.
	LabelScale = "Scale"
)

// SuiteLabels lists the labels that name a suite, in report order.
var SuiteLabels = []string{LabelClusterIP, LabelNodePort, LabelETPLocal, LabelAffinity, LabelHeadless,
	LabelITPLocal, LabelTerminating, LabelExternalIP}
