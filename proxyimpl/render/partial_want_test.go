package render

// Expected restore texts of the partial sync and full sync tests.
const (
	wantPartialAdd = `
		*nat
		:SVCCHK-SVC-7IY5QUWJTV4HRBGH - [0:0]
		-I SVCCHK-SERVICES 1 -d 10.96.0.30/32 -p tcp -m comment --comment "ns2/new:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-7IY5QUWJTV4HRBGH
		-A SVCCHK-SVC-7IY5QUWJTV4HRBGH ! -s 10.244.0.0/16 -m comment --comment "ns2/new:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-7IY5QUWJTV4HRBGH -p tcp -m comment --comment "ns2/new:p80" -j DNAT --to-destination 10.244.3.3:8080
		COMMIT
	`
	wantPartialEndpoints = `
		*nat
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		-D SVCCHK-HAIRPIN -s 10.244.1.5/32 -d 10.244.1.5/32 -m comment --comment "svccheck hairpin 10.244.1.5 for ns1/svc1:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		COMMIT
	`
	wantPartialNodePort = `
		*nat
		:SVCCHK-EXT-DRXRYXBX2F3H75LF - [0:0]
		:SVCCHK-SVC-DRXRYXBX2F3H75LF - [0:0]
		-D SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc2:p80" -m tcp --dport 30080 -j SVCCHK-EXT-DRXRYXBX2F3H75LF
		-I SVCCHK-NODEPORTS 1 -p tcp -m comment --comment "ns1/svc2:p80" -m tcp --dport 30099 -j SVCCHK-EXT-DRXRYXBX2F3H75LF
		-A SVCCHK-SVC-DRXRYXBX2F3H75LF ! -s 10.244.0.0/16 -m comment --comment "ns1/svc2:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-DRXRYXBX2F3H75LF -p tcp -m comment --comment "ns1/svc2:p80" -j DNAT --to-destination 10.244.2.7:80
		-A SVCCHK-EXT-DRXRYXBX2F3H75LF -m comment --comment "masquerade traffic for ns1/svc2:p80 external destinations" -j SVCCHK-MARK-MASQ
		-A SVCCHK-EXT-DRXRYXBX2F3H75LF -m comment --comment "ns1/svc2:p80 external destinations" -j SVCCHK-SVC-DRXRYXBX2F3H75LF
		COMMIT
	`
	wantPartialDelete = `
		*nat
		:SVCCHK-EXT-DRXRYXBX2F3H75LF - [0:0]
		:SVCCHK-SVC-DRXRYXBX2F3H75LF - [0:0]
		-D SVCCHK-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment "ns1/svc2:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-DRXRYXBX2F3H75LF
		-D SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc2:p80" -m tcp --dport 30080 -j SVCCHK-EXT-DRXRYXBX2F3H75LF
		-X SVCCHK-SVC-DRXRYXBX2F3H75LF
		-X SVCCHK-EXT-DRXRYXBX2F3H75LF
		COMMIT
	`
	wantPartialNoEndpoints = `
		*nat
		:SVCCHK-EXT-DRXRYXBX2F3H75LF - [0:0]
		:SVCCHK-SVC-DRXRYXBX2F3H75LF - [0:0]
		-D SVCCHK-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment "ns1/svc2:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-DRXRYXBX2F3H75LF
		-D SVCCHK-NODEPORTS -p tcp -m comment --comment "ns1/svc2:p80" -m tcp --dport 30080 -j SVCCHK-EXT-DRXRYXBX2F3H75LF
		-X SVCCHK-SVC-DRXRYXBX2F3H75LF
		-X SVCCHK-EXT-DRXRYXBX2F3H75LF
		COMMIT
		*filter
		-I SVCCHK-EXTERNAL-SERVICES 1 -p tcp -m comment --comment "ns1/svc2:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j REJECT --reject-with icmp-port-unreachable
		-I SVCCHK-SERVICES 1 -d 10.96.0.20/32 -p tcp -m comment --comment "ns1/svc2:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
		COMMIT
	`
	wantPartialLocalEndpoint = `
		*nat
		:SVCCHK-EXT-DRXRYXBX2F3H75LF - [0:0]
		:SVCCHK-SVC-DRXRYXBX2F3H75LF - [0:0]
		-A SVCCHK-HAIRPIN -s 10.244.1.7/32 -d 10.244.1.7/32 -m comment --comment "svccheck hairpin 10.244.1.7 for ns1/svc2:p80" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-DRXRYXBX2F3H75LF ! -s 10.244.0.0/16 -m comment --comment "ns1/svc2:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-DRXRYXBX2F3H75LF -p tcp -m comment --comment "ns1/svc2:p80" -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.1.7:80
		-A SVCCHK-SVC-DRXRYXBX2F3H75LF -p tcp -m comment --comment "ns1/svc2:p80" -j DNAT --to-destination 10.244.2.7:80
		-A SVCCHK-EXT-DRXRYXBX2F3H75LF -m comment --comment "masquerade traffic for ns1/svc2:p80 external destinations" -j SVCCHK-MARK-MASQ
		-A SVCCHK-EXT-DRXRYXBX2F3H75LF -m comment --comment "ns1/svc2:p80 external destinations" -j SVCCHK-SVC-DRXRYXBX2F3H75LF
		COMMIT
	`
	wantFullStale = `
		*nat
		:SVCCHK-HAIRPIN - [0:0]
		:SVCCHK-MARK-MASQ - [0:0]
		:SVCCHK-NODEPORTS - [0:0]
		:SVCCHK-POSTROUTING - [0:0]
		:SVCCHK-SERVICES - [0:0]
		:SVCCHK-SVC-KUEAGMSZTYSV7XVL - [0:0]
		:SVCCHK-SVC-STALE0000000000 - [0:0]
		-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-KUEAGMSZTYSV7XVL
		-A SVCCHK-SERVICES -m comment --comment "svccheck service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j SVCCHK-NODEPORTS
		-A SVCCHK-MARK-MASQ -m comment --comment "svccheck mark for masquerade" -j MARK --set-xmark 0x8000/0x8000
		-A SVCCHK-POSTROUTING -m comment --comment "svccheck hairpin traffic" -m conntrack --ctstate DNAT -j SVCCHK-HAIRPIN
		-A SVCCHK-POSTROUTING -m comment --comment "svccheck unmarked traffic" -m mark ! --mark 0x8000/0x8000 -j RETURN
		-A SVCCHK-POSTROUTING -m comment --comment "svccheck clear mark" -j MARK --set-xmark 0x0/0x8000
		-A SVCCHK-POSTROUTING -m comment --comment "svccheck service traffic requiring SNAT" -j MASQUERADE --random-fully
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL ! -s 10.244.0.0/16 -m comment --comment "ns1/svc1:p80 cluster IP" -j SVCCHK-MARK-MASQ
		-A SVCCHK-SVC-KUEAGMSZTYSV7XVL -p tcp -m comment --comment "ns1/svc1:p80" -j DNAT --to-destination 10.244.2.5:8080
		-X SVCCHK-SVC-STALE0000000000
		COMMIT
		*filter
		:SVCCHK-EXTERNAL-SERVICES - [0:0]
		:SVCCHK-FORWARD - [0:0]
		:SVCCHK-NODEPORTS - [0:0]
		:SVCCHK-OLD-FILTER - [0:0]
		:SVCCHK-PROXY-FIREWALL - [0:0]
		:SVCCHK-SERVICES - [0:0]
		-A SVCCHK-FORWARD -m comment --comment "svccheck drop conntrack INVALID packets" -m conntrack --ctstate INVALID -j DROP
		-A SVCCHK-FORWARD -m comment --comment "svccheck forwarding rules" -m mark --mark 0x8000/0x8000 -j ACCEPT
		-A SVCCHK-FORWARD -m comment --comment "svccheck forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
		-X SVCCHK-OLD-FILTER
		COMMIT
	`
)
