package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenderShapes(t *testing.T) {
	for _, tc := range shapeCases() {
		t.Run(tc.name, func(t *testing.T) {
			snap := build(t, tc.services, tc.slices)
			text, _ := WriteFull(Render(Config{}, snap), nil)
			got := withoutBaseline(string(text))
			if diff := cmp.Diff(dedent(tc.want), got); diff != "" {
				t.Errorf("restore text (-want +got):\n%s", diff)
			}
		})
	}
}
