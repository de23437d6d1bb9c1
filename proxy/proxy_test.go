package proxy

import (
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    Mode
		wantErr string
	}{
		{in: "svccheck", want: Svccheck},
		{in: " Kube-Proxy ", want: KubeProxy},
		{in: "kube-proxy:iptables", want: KubeProxy},
		{in: "kube-proxy:nftables", want: KubeProxyNFTables},
		{in: "kube-proxy:ipvs", want: KubeProxyIPVS},
		{in: "unknown/replaced", wantErr: "unknown proxy mode"},
		{in: "cilium", wantErr: `unknown proxy mode "cilium" (want one of svccheck, kube-proxy, kube-proxy:nftables, kube-proxy:ipvs)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseMode(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseMode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestModeQuestions(t *testing.T) {
	tests := []struct {
		m                  Mode
		kubeProxy, known   bool
		iptables, nftables bool
		kubeProxyMode, dir string
	}{
		{Svccheck, false, true, true, false, "none", "svccheck"},
		{KubeProxy, true, true, true, false, "iptables", "kube-proxy"},
		{KubeProxyNFTables, true, true, false, true, "nftables", "kube-proxy-nftables"},
		{KubeProxyIPVS, true, true, false, false, "ipvs", "kube-proxy-ipvs"},
		{Unknown, false, false, false, false, "iptables", "unknown/replaced"},
		{"kube-proxyish", false, false, false, false, "iptables", "kube-proxyish"},
	}
	for _, tt := range tests {
		if got := tt.m.IsKubeProxy(); got != tt.kubeProxy {
			t.Errorf("%q.IsKubeProxy() = %v, want %v", tt.m, got, tt.kubeProxy)
		}
		if got := tt.m.Known(); got != tt.known {
			t.Errorf("%q.Known() = %v, want %v", tt.m, got, tt.known)
		}
		if got, got2 := tt.m.IPTables(), tt.m.NFTables(); got != tt.iptables || got2 != tt.nftables {
			t.Errorf("%q.IPTables(), NFTables() = %v, %v, want %v, %v", tt.m, got, got2, tt.iptables, tt.nftables)
		}
		if got := tt.m.KubeProxyMode(); got != tt.kubeProxyMode {
			t.Errorf("%q.KubeProxyMode() = %q, want %q", tt.m, got, tt.kubeProxyMode)
		}
		if got := tt.m.Dir(); got != tt.dir {
			t.Errorf("%q.Dir() = %q, want %q", tt.m, got, tt.dir)
		}
	}
}

func TestProxyString(t *testing.T) {
	tests := []struct {
		p              Proxy
		str, described string
	}{
		{Proxy{Mode: Svccheck}, "svccheck", "svccheck"},
		{Proxy{Mode: Svccheck, Source: "created by this run", Broken: []string{"affinity", "reject"}},
			"svccheck (broken: affinity,reject)", "svccheck (broken: affinity,reject) (created by this run)"},
		{Proxy{Mode: KubeProxyNFTables, Source: "ConfigMap kube-system/kube-proxy: mode nftables"},
			"kube-proxy:nftables", "kube-proxy:nftables (ConfigMap kube-system/kube-proxy: mode nftables)"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		if got := tt.p.Described(); got != tt.described {
			t.Errorf("Described() = %q, want %q", got, tt.described)
		}
	}
}
