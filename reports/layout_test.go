package reports

import (
	"strings"
	"testing"
)

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ClusterIP reaches every backend", "clusterip-reaches-every-backend"},
		{"  Affinity [Slow] sticks -- to (one) backend!  ", "affinity-slow-sticks-to-one-backend"},
		{"NodePort: port 30000-32767", "nodeport-port-30000-32767"},
		{"Ünïcode ≠ ascii", "n-code-ascii"},
		{"!!!", "spec"},
		{"", "spec"},
		{strings.Repeat("abc ", 20), strings.TrimRight(strings.Repeat("abc-", 20), "-")},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Slug(tt.in)
			if got != tt.want {
				t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > maxSlug {
				t.Errorf("Slug(%q) is %d long, over %d", tt.in, len(got), maxSlug)
			}
		})
	}
}

// TestSlugLongTexts checks that texts cut at the same place keep slugs of
// their own, as the entries of one DescribeTable do.
func TestSlugLongTexts(t *testing.T) {
	prefix := "Terminating endpoints fall back to serving terminating endpoints when none is ready with "
	seen := map[string]string{}
	for _, entry := range []string{"internalTrafficPolicy Cluster", "internalTrafficPolicy Local", "externalTrafficPolicy Cluster", "externalTrafficPolicy Local"} {
		got := Slug(prefix + entry)
		if len(got) > maxSlug {
			t.Errorf("Slug(%q) is %d long, over %d", prefix+entry, len(got), maxSlug)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("Slug(%q) = Slug(%q) = %q", prefix+entry, other, got)
		}
		seen[got] = entry
	}
}

func TestLayoutPaths(t *testing.T) {
	tests := []struct{ got, want string }{
		{NodeDir("kind-worker"), "nodes/kind-worker"},
		{FailureDir("kind-worker", "clusterip-x"), "nodes/kind-worker/failures/clusterip-x"},
		{ClusterDir("svcchk-1"), "cluster/svcchk-1"},
		{NodeDir("../etc"), "nodes/.._etc"},
		{NodeDir(".."), "nodes/_"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
