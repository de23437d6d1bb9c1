package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/svccheck/svccheck/run"
	"github.com/svccheck/svccheck/suites/specs"
)

// runAsSvccheck runs the test binary as svccheck with args (see TestMain).
func runAsSvccheck(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), appMainEnv+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("svccheck %v: %v\n%s", args, err, out)
	}
}

// listAsSvccheck runs svccheck run --list-specs with args and returns the list.
func listAsSvccheck(t *testing.T, args ...string) []run.ListedSpec {
	t.Helper()
	path := filepath.Join(t.TempDir(), "specs.json")
	runAsSvccheck(t, append([]string{"run", "--list-specs", path}, args...)...)
	list, err := run.ReadSpecList(path)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestListSpecs lists the real suites in child processes (Ginkgo walks the
// specs once per process) and checks that each listed focus selects its
// spec alone, and that the filters apply.
func TestListSpecs(t *testing.T) {
	all := listAsSvccheck(t, "--proxy", "svccheck")
	if len(all) < 20 {
		t.Fatalf("listed %d specs, want the whole suite (20 or more)", len(all))
	}
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.Text] {
			t.Errorf("spec %q listed twice", s.Text)
		}
		seen[s.Text] = true
	}
	// The first and the last spec, and the slow ones.
	picks := []run.ListedSpec{all[0], all[len(all)-1]}
	for _, s := range all {
		if slices.Contains(s.Labels, specs.LabelSlow) {
			picks = append(picks, s)
		}
	}
	for _, p := range picks {
		got := listAsSvccheck(t, "--proxy", "svccheck", "--focus", p.Focus)
		if len(got) != 1 || got[0].Text != p.Text {
			t.Errorf("--focus %q selects %v, want %q alone", p.Focus, got, p.Text)
		}
	}
	affinity := listAsSvccheck(t, "--proxy", "svccheck", "--label-filter", specs.LabelAffinity)
	if len(affinity) == 0 || len(affinity) == len(all) {
		t.Fatalf("--label-filter %s lists %d of %d specs", specs.LabelAffinity, len(affinity), len(all))
	}
	for _, s := range affinity {
		if !slices.Contains(s.Labels, specs.LabelAffinity) {
			t.Errorf("--label-filter %s lists %q, labelled %v", specs.LabelAffinity, s.Text, s.Labels)
		}
	}
}
