package diag

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/svccheck/svccheck/reports"
)

// FindFailureDumps lists the failure-time node dumps under outDir, by spec
// slug: slug -> nodes/<node>/failures/<slug> directories relative to outDir,
// sorted. A missing nodes directory yields an empty map. The result feeds
// reports.Results.AddDumps for specs that did not record a DumpsEntry.
func FindFailureDumps(outDir string) (map[string][]string, error) {
	found := map[string][]string{}
	nodes, err := os.ReadDir(filepath.Join(outDir, reports.DirNodes))
	if errors.Is(err, fs.ErrNotExist) {
		return found, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing node dumps: %w", err)
	}
	for _, n := range nodes {
		if !n.IsDir() {
			continue
		}
		failDir := filepath.Join(outDir, reports.DirNodes, n.Name(), reports.DirFailures)
		specs, err := os.ReadDir(failDir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing failure dumps of node %s: %w", n.Name(), err)
		}
		for _, s := range specs {
			if s.IsDir() {
				rel := path.Join(reports.DirNodes, n.Name(), reports.DirFailures, s.Name())
				found[s.Name()] = append(found[s.Name()], rel)
			}
		}
	}
	for _, dirs := range found {
		sort.Strings(dirs)
	}
	return found, nil
}
