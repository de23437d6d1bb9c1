package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckIPVS(t *testing.T) {
	const release = "6.18.44-test"
	for _, tc := range []struct {
		name  string
		files []string
		ok    bool
	}{
		{"loaded", []string{"proc/net/ip_vs"}, true},
		{"a module to load", []string{"lib/modules/" + release + "/kernel/net/netfilter/ipvs/ip_vs.ko.xz"}, true},
		{"a module of another kernel", []string{"lib/modules/5.10.0/kernel/net/netfilter/ipvs/ip_vs.ko"}, false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := checkIPVS(root, release)
			if tc.ok {
				if err != nil {
					t.Errorf("checkIPVS: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrIPVSUnsupported) || !strings.Contains(err.Error(), "--proxy kube-proxy or kube-proxy:nftables") {
				t.Errorf("checkIPVS: %v, want ErrIPVSUnsupported saying what to use instead", err)
			}
		})
	}
}
