package render

import (
	"strings"
	"testing"
)

func TestLongestComment(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want int
	}{
		{"-j RETURN", 0},
		{`-m comment --comment "a b" -j X`, 3},
		{`-m comment --comment plain -j X`, 5},
		{`-m comment --comment "say \"hi\"" -m comment --comment "x" -j X`, 8},
		{`-m comment --comment "` + strings.Repeat("y", 300) + `"`, 300},
	} {
		if got := longestComment(tc.spec); got != tc.want {
			t.Errorf("longestComment(%q) = %d, want %d", tc.spec, got, tc.want)
		}
	}
}
