package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

func TestWithHooks(t *testing.T) {
	pre := HookRule{Table: iptables.TableNAT, Chain: iptables.ChainPrerouting, Args: []string{"-m", "comment", "--comment", "svccheck service portals", "-j", "SVCCHK-SERVICES"}}
	out := HookRule{Table: iptables.TableNAT, Chain: iptables.ChainOutput, Args: []string{"-j", "SVCCHK-SERVICES"}}
	fwd := HookRule{Table: iptables.TableFilter, Chain: iptables.ChainForward, Args: []string{"-j", "SVCCHK-FORWARD"}}
	for _, tc := range []struct {
		name  string
		data  string
		hooks []HookRule
		want  string
	}{{
		name: "no hooks",
		data: "*nat\n:A - [0:0]\nCOMMIT\n",
		want: "*nat\n:A - [0:0]\nCOMMIT\n",
	}, {
		name:  "into the last of the table's transactions, in order",
		data:  "*nat\n:A - [0:0]\nCOMMIT\n*nat\n-A A -j RETURN\nCOMMIT\n*filter\n:F - [0:0]\nCOMMIT\n",
		hooks: []HookRule{pre, fwd, out},
		want: "*nat\n:A - [0:0]\nCOMMIT\n*nat\n-A A -j RETURN\n" +
			"-I PREROUTING 1 -m comment --comment \"svccheck service portals\" -j SVCCHK-SERVICES\n-I OUTPUT 1 -j SVCCHK-SERVICES\nCOMMIT\n" +
			"*filter\n:F - [0:0]\n-I FORWARD 1 -j SVCCHK-FORWARD\nCOMMIT\n",
	}, {
		name:  "a transaction of its own for a table without one",
		data:  "*nat\n:A - [0:0]\nCOMMIT\n",
		hooks: []HookRule{fwd},
		want:  "*nat\n:A - [0:0]\nCOMMIT\n*filter\n-I FORWARD 1 -j SVCCHK-FORWARD\nCOMMIT\n",
	}, {
		name:  "no text at all",
		hooks: []HookRule{out},
		want:  "*nat\n-I OUTPUT 1 -j SVCCHK-SERVICES\nCOMMIT\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, room := range []int{0, 4096} {
				data := append(make([]byte, 0, len(tc.data)+room), tc.data...)
				got := string(WithHooks(data, tc.hooks))
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("WithHooks, %d bytes of room (-want +got):\n%s", room, diff)
				}
			}
		})
	}
}
