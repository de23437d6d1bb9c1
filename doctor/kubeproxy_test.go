package doctor

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRunKubeProxyDump(t *testing.T) {
	const sep = `[0:0] -A KUBE-SEP-6E7XQMQ4RAYOWTTM -p udp -m comment --comment "kube-system/kube-dns:dns" -m udp -j DNAT --to-destination 10.244.0.3:53`
	const sep2 = `[0:0] -A KUBE-SEP-YIL6JZP7A3QYXJU2 -p udp -m comment --comment "kube-system/kube-dns:dns" -m udp -j DNAT --to-destination 10.244.0.2:53`
	tests := []struct {
		name  string
		files func(t *testing.T, dir string)
		want  []string
	}{
		{name: "healthy"},
		{name: "flushed endpoint chains", want: []string{"SVC012 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-nat.txt", sep+"\n", "")
				edit(t, dir, worker+"iptables-nat.txt", sep2+"\n", "")
			}},
		{name: "SVCCHK chains left after a swap back", want: []string{"SVC011 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-filter.txt", ":KUBE-FORWARD", ":SVCCHK-FORWARD - [0:0]\n:KUBE-FORWARD")
			}},
		{name: "stale endpoint", want: []string{"SVC014 kind-worker", "SVC015 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-nat.txt", sep, strings.Replace(sep, "10.244.0.3:53", "10.244.7.7:53", 1))
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyFixture(t, "kube-proxy")
			if tc.files != nil {
				tc.files(t, dir)
			}
			d, err := Load(dir)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			r := Run(d)
			if diff := cmp.Diff(tc.want, ids(r)); diff != "" {
				var b strings.Builder
				_ = WriteText(&b, r)
				t.Errorf("findings (-want +got):\n%s\n%s", diff, b.String())
			}
		})
	}
}
