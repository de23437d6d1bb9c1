package diag

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
)

// Node is a node to dump.
type Node struct {
	// Name is the Kubernetes node name.
	Name string
	// Cmder runs commands on the node (a kind node, or a host pod on it).
	Cmder exec.Cmder
}

// Defaults of a Collector's zero fields.
const (
	DefaultCommandTimeout = 30 * time.Second
	DefaultParallelism    = 4
)

// Collector dumps nodes and clusters. The zero value works: it dumps nodes
// without proxy logs and fills versions.yaml only with what it can find.
type Collector struct {
	// Clientset reads the proxy's pod logs and the cluster objects. Nil
	// skips the proxy log (recorded as skipped) and cluster dumps.
	Clientset kubernetes.Interface
	// Proxy is the cluster's Service proxy, with how it was found and
	// what of it is broken on purpose, for versions.yaml. An empty Mode
	// means find out from the cluster (the svccheck-proxy DaemonSet, else
	// kube-proxy).
	Proxy proxy.Proxy
	// RunID is the run's id, for versions.yaml; empty leaves it out.
	RunID string
	// NodeImage is the kind node image, for versions.yaml.
	NodeImage string
	// ProxyImage is the Service proxy's image, for versions.yaml when the
	// proxy's DaemonSet cannot be read. Empty means only the DaemonSet says.
	ProxyImage string
	// CommandTimeout bounds each command on a node and each API read.
	// Zero means DefaultCommandTimeout.
	CommandTimeout time.Duration
	// Parallelism bounds how many nodes are dumped at once. Zero means
	// DefaultParallelism.
	Parallelism int
	// Progress, when set, is called once per node dump as it finishes. Calls
	// are serialized.
	Progress func(NodeResult)

	progressMu sync.Mutex
	modeOnce   sync.Once
	mode       proxy.Mode
	slugMu     sync.Mutex
	slugs      map[string]bool // failure dump slugs claimed
}

// NodeResult is the outcome of one node's dump.
type NodeResult struct {
	// Node is the node's name.
	Node string
	// Dir is the directory the dump was written to.
	Dir string
	// Files lists the files written, relative to Dir.
	Files []string
	// Failed lists the files whose command failed (their content says why).
	Failed []string
	// Duration is how long the dump took.
	Duration time.Duration
	// Err is set when the dump could not be written at all.
	Err error
}

func (c *Collector) timeout() time.Duration {
	if c.CommandTimeout > 0 {
		return c.CommandTimeout
	}
	return DefaultCommandTimeout
}

func (c *Collector) parallelism() int {
	if c.Parallelism > 0 {
		return c.Parallelism
	}
	return DefaultParallelism
}

// CollectNode dumps node into outDir/nodes/<node>/. Failing commands are
// recorded in their files, not returned; the error is for a dump that
// could not be written, or a cancelled ctx.
func (c *Collector) CollectNode(ctx context.Context, node Node, outDir string) (NodeResult, error) {
	res := c.collectInto(ctx, node, filepath.Join(outDir, filepath.FromSlash(reports.NodeDir(node.Name))))
	return res, res.Err
}

// CollectNodes dumps every node into outDir/nodes/<node>/, at most
// Parallelism at a time. It returns one result per node, in the order of
// nodes, and the errors of every node that could not be dumped, joined.
func (c *Collector) CollectNodes(ctx context.Context, nodes []Node, outDir string) ([]NodeResult, error) {
	return c.collectAll(ctx, nodes, func(n Node) string {
		return filepath.Join(outDir, filepath.FromSlash(reports.NodeDir(n.Name)))
	})
}

// CollectFailure dumps every node at the time spec specSlug failed, into
// outDir/nodes/<node>/failures/<spec-slug>/, and returns those directories
// relative to outDir (slash-separated), ready for a reports.DumpsEntry.
// Directories of nodes that could not be dumped at all are left out.
//
// A slug already used in outDir (two specs with the same text, or texts
// that agree up to the slug's length limit) gets a suffix: "-2", "-3", ...
// so one spec's dumps never overwrite another's.
func (c *Collector) CollectFailure(ctx context.Context, nodes []Node, specSlug, outDir string) ([]string, error) {
	specSlug = c.claimSlug(nodes, specSlug, outDir)
	results, err := c.collectAll(ctx, nodes, func(n Node) string {
		return filepath.Join(outDir, filepath.FromSlash(reports.FailureDir(n.Name, specSlug)))
	})
	var dirs []string
	for i, r := range results {
		if r.Err == nil {
			dirs = append(dirs, reports.FailureDir(nodes[i].Name, specSlug))
		}
	}
	return dirs, err
}

// claimSlug returns specSlug, or specSlug-N for the smallest N >= 2, such
// that no node has a failure dump of that name in outDir and no earlier
// call of this Collector claimed it.
func (c *Collector) claimSlug(nodes []Node, specSlug, outDir string) string {
	c.slugMu.Lock()
	defer c.slugMu.Unlock()
	if c.slugs == nil {
		c.slugs = map[string]bool{}
	}
	taken := func(slug string) bool {
		if c.slugs[slug] {
			return true
		}
		for _, n := range nodes {
			if _, err := os.Stat(filepath.Join(outDir, filepath.FromSlash(reports.FailureDir(n.Name, slug)))); err == nil {
				return true
			}
		}
		return false
	}
	slug := specSlug
	for i := 2; taken(slug); i++ {
		slug = fmt.Sprintf("%s-%d", specSlug, i)
	}
	c.slugs[slug] = true
	return slug
}

func (c *Collector) collectAll(ctx context.Context, nodes []Node, dirOf func(Node) string) ([]NodeResult, error) {
	results := make([]NodeResult, len(nodes))
	sem := make(chan struct{}, c.parallelism())
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				results[i] = NodeResult{Node: n.Name, Dir: dirOf(n), Err: fmt.Errorf("dumping node %s: %w", n.Name, ctx.Err())}
				c.report(results[i])
				return
			}
			results[i] = c.collectInto(ctx, n, dirOf(n))
		}()
	}
	wg.Wait()
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return results, joinErrors(errs)
}

// collectInto dumps node into dir.
func (c *Collector) collectInto(ctx context.Context, node Node, dir string) (res NodeResult) {
	start := time.Now()
	res = NodeResult{Node: node.Name, Dir: dir}
	defer func() {
		res.Duration = time.Since(start)
		c.report(res)
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.Err = fmt.Errorf("dumping node %s: %w", node.Name, err)
		return res
	}
	files := c.nodeFiles(ctx, node)
	for _, f := range files {
		if err := reports.WriteBytesAtomic(filepath.Join(dir, f.name), f.content(), 0o644); err != nil {
			res.Err = fmt.Errorf("dumping node %s: writing %s: %w", node.Name, f.name, err)
			return res
		}
		res.Files = append(res.Files, f.name)
		if f.failed() {
			res.Failed = append(res.Failed, f.name)
		}
	}
	if err := ctx.Err(); err != nil {
		res.Err = fmt.Errorf("dumping node %s: %w", node.Name, err)
	}
	return res
}

func (c *Collector) report(r NodeResult) {
	if c.Progress == nil {
		return
	}
	c.progressMu.Lock()
	defer c.progressMu.Unlock()
	c.Progress(r)
}
