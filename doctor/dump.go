package doctor

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/yaml"

	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/diag"
)

// FileDockerNetworks is the file, under cluster/, listing the Docker
// networks of the host running a kind cluster, one "name subnet" line per subnet.
const FileDockerNetworks = "docker-networks.txt"

// FileLiveNamespaces is the file, under cluster/, naming one per line the
// namespaces that existed when the nodes were dumped. A run also keeps the
// objects of each spec's namespace as they were when the spec ended, long
// before the nodes' final dump; when the file is there, doctor judges the
// nodes' rules against the listed namespaces only, as the others are gone
// from the rules by then.
const FileLiveNamespaces = "live-namespaces.txt"

// Dump is what doctor reads from a dump directory.
type Dump struct {
	// Dir is the dump directory.
	Dir string
	// ProxyMode is versions.yaml's proxyMode: svccheck, kube-proxy or
	// kube-proxy:<mode>; empty when unknown.
	ProxyMode string
	// Nodes are the node dumps, sorted by name.
	Nodes []*NodeDump
	// NodeObjects are the Node objects of cluster/nodes.yaml.
	NodeObjects []corev1.Node
	// Namespaces lists the namespaces whose objects were dumped.
	Namespaces map[string]bool
	// Services, EndpointSlices and Pods of every dumped namespace.
	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice
	Pods           []corev1.Pod
	// DockerNetworks are "name subnet" pairs; nil when not recorded.
	DockerNetworks [][2]string
}

// NodeDump is one node's dump directory.
type NodeDump struct {
	// Name is the node's name.
	Name string
	dir  string // relative to the dump directory, slash-separated
	root string
}

// Path returns file's path relative to the dump directory, for evidence.
func (n *NodeDump) Path(file string) string { return path.Join(n.dir, file) }

// Lines returns file's lines without svccheck's "# svccheck:" notes'
// numbering changed (line i is Lines()[i-1]); ok is false when the file
// is missing.
func (n *NodeDump) Lines(file string) (lines []string, ok bool) {
	return readLines(filepath.Join(n.root, filepath.FromSlash(n.Path(file))))
}

// Has reports whether the node dump holds file.
func (n *NodeDump) Has(file string) bool {
	_, err := os.Stat(filepath.Join(n.root, filepath.FromSlash(n.Path(file))))
	return err == nil
}

func readLines(p string) ([]string, bool) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err() == nil
}

// Load reads the dump in dir: the node dumps under nodes/ and the cluster
// objects under cluster/. A dump without nodes is an error.
func Load(dir string) (*Dump, error) {
	d := &Dump{Dir: dir, Namespaces: map[string]bool{}}
	entries, err := os.ReadDir(filepath.Join(dir, reports.DirNodes))
	if err != nil {
		return nil, fmt.Errorf("reading the node dumps of %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			d.Nodes = append(d.Nodes, &NodeDump{Name: e.Name(), dir: reports.NodeDir(e.Name()), root: dir})
		}
	}
	if len(d.Nodes) == 0 {
		return nil, fmt.Errorf("%s holds no node dumps under %s/", dir, reports.DirNodes)
	}
	sort.Slice(d.Nodes, func(i, j int) bool { return d.Nodes[i].Name < d.Nodes[j].Name })
	if err := d.loadCluster(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Dump) loadCluster() error {
	cdir := filepath.Join(d.Dir, reports.DirCluster)
	var v diag.Versions
	if err := readYAML(filepath.Join(cdir, reports.FileVersions), &v); err != nil {
		return err
	}
	d.ProxyMode = v.ProxyMode
	var nodes corev1.NodeList
	if err := readYAML(filepath.Join(cdir, diag.FileNodes), &nodes); err != nil {
		return err
	}
	d.NodeObjects = nodes.Items
	entries, err := os.ReadDir(cdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading the cluster dump: %w", err)
	}
	live, onlyLive := readLines(filepath.Join(cdir, FileLiveNamespaces))
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		ns := e.Name()
		if onlyLive && !slices.Contains(live, ns) {
			continue
		}
		var svcs corev1.ServiceList
		var epSlices discoveryv1.EndpointSliceList
		var pods corev1.PodList
		for file, into := range map[string]any{diag.FileServices: &svcs, diag.FileEndpointSlices: &epSlices, diag.FilePods: &pods} {
			if err := readYAML(filepath.Join(cdir, ns, file), into); err != nil {
				return err
			}
		}
		d.Namespaces[ns] = true
		d.Services = append(d.Services, svcs.Items...)
		d.EndpointSlices = append(d.EndpointSlices, epSlices.Items...)
		d.Pods = append(d.Pods, pods.Items...)
	}
	if lines, ok := readLines(filepath.Join(cdir, FileDockerNetworks)); ok {
		d.DockerNetworks = [][2]string{}
		for _, l := range lines {
			if f := strings.Fields(l); len(f) == 2 && !strings.HasPrefix(l, "#") {
				d.DockerNetworks = append(d.DockerNetworks, [2]string{f[0], f[1]})
			}
		}
	}
	return nil
}

// readYAML decodes file into v; a missing file leaves v alone, a file
// recording a failed read or holding bad YAML is an error.
func readYAML(file string, v any) error {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	if strings.HasPrefix(string(data), "# svccheck: FAILED") {
		return nil
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", file, err)
	}
	return nil
}
