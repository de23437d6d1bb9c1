package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
)

// Names of the files and directories of a run's output directory. They are
// part of svccheck's stable output layout.
const (
	// FileSummary is the Markdown summary.
	FileSummary = "summary.md"
	// FileJUnit is the JUnit XML report.
	FileJUnit = "junit.xml"
	// FileJSON is Ginkgo's JSON report.
	FileJSON = "report.json"
	// FileDoctor is svccheck doctor's findings on the run's dumps, as JSON.
	FileDoctor = "doctor.json"
	// FileComparison is the Markdown comparison of a --compare run, in the
	// directory holding one output directory per proxy mode.
	FileComparison = "comparison.md"
	// DirNodes holds one directory per node.
	DirNodes = "nodes"
	// DirCluster holds the cluster objects, one directory per namespace.
	DirCluster = "cluster"
	// DirFailures, under a node's directory, holds one directory per failed spec.
	DirFailures = "failures"
	// FileVersions, under DirCluster, records the versions of the run.
	FileVersions = "versions.yaml"
	// DirParallel, in a --parallel run, holds one directory per child run
	// ("1", "2", ...) with its FileRunLog and its own reports.
	DirParallel = "parallel"
	// FileRunLog is a child run's standard output and error.
	FileRunLog = "run.log"
)

// NodeDir returns the directory of node's dump, relative to the output
// directory: nodes/<node>.
func NodeDir(node string) string {
	return path.Join(DirNodes, pathSafe(node))
}

// FailureDir returns the directory of node's dump taken when the spec with
// slug specSlug failed, relative to the output directory:
// nodes/<node>/failures/<spec-slug>.
func FailureDir(node, specSlug string) string {
	return path.Join(NodeDir(node), DirFailures, pathSafe(specSlug))
}

// ClusterDir returns the directory of namespace's objects, relative to the
// output directory: cluster/<namespace>.
func ClusterDir(namespace string) string {
	return path.Join(DirCluster, pathSafe(namespace))
}

// maxSlug bounds a slug's length, well under file system name limits.
const maxSlug = 80

// Slug turns a spec's full text (container texts and spec text joined by
// spaces) into a file name: lowercase ASCII letters, digits and single dashes,
// at most 80 characters. The same text always yields the same slug. A text
// too long for 80 characters keeps its first 71 and ends in 8 hex digits of
// its SHA-256, so specs that differ only past the cut (table entries) still
// get slugs of their own.
func Slug(text string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(text) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > maxSlug {
		sum := sha256.Sum256([]byte(text))
		s = strings.TrimRight(s[:maxSlug-9], "-") + "-" + hex.EncodeToString(sum[:4])
	}
	if s == "" {
		return "spec"
	}
	return s
}

// pathSafe keeps a name usable as one path element.
func pathSafe(name string) string {
	name = strings.NewReplacer("/", "_", "\\", "_").Replace(name)
	if name == "" || name == "." || name == ".." {
		return "_"
	}
	return name
}
