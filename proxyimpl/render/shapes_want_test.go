package render

// Expected restore lines (beyond the baseline) of the shapeCases.
const (
	// ClusterIP.
	wantClusterIP = `
		*nat
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.1.5:8080
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		*filter
	`
	// multi-port.
	wantMultiPort = `
		*nat
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		:SVCCHK-SVC-OUCEAXATWYYOKTSQ - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p443 cluster IP" -m tcp --dport 443 -j SVCCHK-SVC-OUCEAXATWYYOKTSQ
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p443, ns1/svc1:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-OUCEAXATWYYOKTSQ ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p443 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-OUCEAXATWYYOKTSQ -p tcp -m comment --comment "ns1/svc1:p443" -j DNAT --to-destination 10.244.1.5:8443
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.1.5:8080
		*filter
	`
	// named target port resolves per slice.
	wantNamedPort = `
		*nat
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.1.5:8080
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:9090
		*filter
	`
	// UDP.
	wantUDP = `
		*nat
		:SVCCHK-SVC-WPADICNPUD5GUW4K - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "ns1/svc1:p80 cluster IP" -m udp --dport 80 -j SVCCHK-SVC-WPADICNPUD5GUW4K
		-A SVCCHK-SVC-WPADICNPUD5GUW4K ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-WPADICNPUD5GUW4K -p udp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		*filter
	`
	// SCTP.
	wantSCTP = `
		*nat
		:SVCCHK-SVC-YAUPD2QCOZXB754H - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p sctp -m comment --comment "ns1/svc1:p80 cluster IP" -m sctp --dport 80 -j SVCCHK-SVC-YAUPD2QCOZXB754H
		-A SVCCHK-SVC-YAUPD2QCOZXB754H ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-YAUPD2QCOZXB754H -p sctp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		*filter
	`
	// NodePort.
	wantNodePort = `
		*nat
		:SVCCHK-EXT-KUEAGMSZTYSV7XVL - [0:0]
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80" -m tcp --dport 30080 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j SVCCHK-MARK-MASQ
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "ns1/svc1:p80 external destinations" -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		*filter
	`
	// eTP Local with a local endpoint.
	wantETPLocal = `
		*nat
		:SVCCHK-EXT-KUEAGMSZTYSV7XVL - [0:0]
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80" -m tcp --dport 30080 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
		-A SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.1.5:8080
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -s 10.244.0.0/16 -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j SVCCHK-MARK-MASQ
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.1.5:8080
		*filter
		-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80 health check node port" -m tcp --dport 31000 -j ACCEPT
	`
	// eTP Local without local endpoints.
	wantETPLocalNone = `
		*nat
		:SVCCHK-EXT-KUEAGMSZTYSV7XVL - [0:0]
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80" -m tcp --dport 30080 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -s 10.244.0.0/16 -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j SVCCHK-MARK-MASQ
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		*filter
		-A SVCCHK-EXTERNAL-SERVICES -p tcp -m comment --comment "ns1/svc1:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j DROP
		-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80 health check node port" -m tcp --dport 31000 -j ACCEPT
	`
	// iTP Local.
	wantITPLocal = `
		*nat
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.1.5:8080
		*filter
	`
	// iTP Local without local endpoints.
	wantITPLocalNone = `
		*nat
		*filter
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp --dport 80 -j DROP
	`
	// iTP Local NodePort.
	wantITPLocalNodePort = `
		*nat
		:SVCCHK-CLU-KUEAGMSZTYSV7XVL - [0:0]
		:SVCCHK-EXT-KUEAGMSZTYSV7XVL - [0:0]
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80" -m tcp --dport 30080 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
		-A SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.1.5:8080
		-A SVCCHK-CLU-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.1.5:8080
		-A SVCCHK-CLU-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j SVCCHK-MARK-MASQ
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "ns1/svc1:p80 external destinations" -j SVCCHK-CLU-KUEAGMSZTYSV7XVL
		*filter
	`
	// ClientIP affinity.
	wantAffinity = `
		*nat
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -m recent --update --seconds 60 --reap --name SVCCHK-AFF-LJI37RJ4OOTVG6YH --mask 255.255.255.255 --rsource -j DNAT --to-destination 10.244.1.5:8080
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -m recent --update --seconds 60 --reap --name SVCCHK-AFF-4GAQJDJIFMSITNCR --mask 255.255.255.255 --rsource -j DNAT --to-destination 10.244.2.5:8080
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -m statistic --mode random --probability 0.50000000000 -m recent --set --name SVCCHK-AFF-LJI37RJ4OOTVG6YH --mask 255.255.255.255 --rsource -j DNAT --to-destination 10.244.1.5:8080
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -m recent --set --name SVCCHK-AFF-4GAQJDJIFMSITNCR --mask 255.255.255.255 --rsource -j DNAT --to-destination 10.244.2.5:8080
		*filter
	`
	// no endpoints.
	wantNoEndpoints = `
		*nat
		*filter
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
		-A SVCCHK-EXTERNAL-SERVICES -p tcp -m comment --comment "ns1/svc1:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j REJECT --reject-with icmp-port-unreachable
		-A SVCCHK-EXTERNAL-SERVICES -d 192.0.2.7/32 -p tcp -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
	`
	// terminating fallback.
	wantTerminating = `
		*nat
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.1.5:8080
		*filter
	`
	// externalIPs and LoadBalancer.
	wantExternalIPs = `
		*nat
		:SVCCHK-EXT-KUEAGMSZTYSV7XVL - [0:0]
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-SERVICES -d 192.0.2.7/32 -p tcp -m comment --comment "ns1/svc1:p80 external IP" -m tcp --dport 80 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
		-A SVCCHK-SERVICES -d 198.51.100.9/32 -p tcp -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp --dport 80 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
		-A SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80" -m tcp --dport 30080 -j SVCCHK-EXT-KUEAGMSZTYSV7XVL
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j SVCCHK-MARK-MASQ
		-A SVCCHK-EXT-KUEAGMSZTYSV7XVL -m comment --comment "ns1/svc1:p80 external destinations" -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		*filter
	`
	// selector-less with a hand-made slice.
	wantSelectorless = `
		*nat
		:SVCCHK-SVC-QMFX2J46LH4JAXUF - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-QMFX2J46LH4JAXUF
		-A SVCCHK-HAIRPIN -s 192.0.2.50/32 -d 192.0.2.50/32 -m comment --comment "svccheck hairpin 192.0.2.50 for ns1/svc1" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-QMFX2J46LH4JAXUF ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-QMFX2J46LH4JAXUF -p tcp -m comment --comment "ns1/svc1" -j DNAT --to-destination 192.0.2.50:5432
		*filter
	`
)
