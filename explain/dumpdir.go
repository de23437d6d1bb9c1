package explain

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/diag"
)

// DumpDir is the output directory of `svccheck run` or `svccheck dump`.
type DumpDir string

// Nodes lists the nodes the dump holds.
func (d DumpDir) Nodes() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(string(d), reports.DirNodes))
	if err != nil {
		return nil, fmt.Errorf("reading the dump's nodes in %s: %w", d, err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Node reads a node's nat and filter tables and addresses from the dump.
func (d DumpDir) Node(name string) (*Node, error) {
	dir := filepath.Join(string(d), filepath.FromSlash(reports.NodeDir(name)))
	if _, err := os.Stat(dir); err != nil {
		nodes, _ := d.Nodes()
		return nil, fmt.Errorf("the dump %s holds no node %q (nodes: %s)", d, name, strings.Join(nodes, ", "))
	}
	return ReadNode(name, dir)
}

// ReadNode reads node name's nat and filter tables and addresses from the
// node dump directory dir (nodes/<node>, or one of its failure dumps).
func ReadNode(name, dir string) (*Node, error) {
	n := &Node{Name: name, Files: map[ipsave.TableName]string{},
		data: map[ipsave.TableName][]byte{}, index: map[ipsave.TableName]*ipsave.IndexTable{}}
	for _, table := range []ipsave.TableName{ipsave.TableNAT, ipsave.TableFilter} {
		file := tableFiles[table]
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, fmt.Errorf("reading node %s's %s table: %w", name, table, err)
		}
		x, err := ipsave.NewIndex(data)
		if err != nil {
			return nil, fmt.Errorf("parsing %s of node %s: %w", file, name, err)
		}
		if x.Table(table) == nil {
			return nil, fmt.Errorf("%s of node %s holds no %s table (did iptables-save fail there? see the file)", file, name, table)
		}
		n.data[table], n.index[table], n.Files[table] = data, x.Table(table), file
	}
	addrs, err := os.ReadFile(filepath.Join(dir, diag.FileIPAddr))
	if err != nil {
		return nil, fmt.Errorf("reading node %s's addresses: %w", name, err)
	}
	n.Addrs = ParseIPAddr(addrs)
	return n, nil
}

// tableFiles names the node dump file of each table explain reads.
var tableFiles = map[ipsave.TableName]string{ipsave.TableNAT: diag.FileIPTablesNAT, ipsave.TableFilter: diag.FileIPTablesFilter}

// ParseIPAddr returns the IPv4 addresses of "ip addr" output: those of
// eth0 (a kind node's address on the node network) first, loopback last.
func ParseIPAddr(out []byte) []string {
	type addr struct {
		a    string
		rank int
	}
	var addrs []addr
	ifc := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 2 && !strings.HasPrefix(line, " ") && strings.HasSuffix(f[0], ":") {
			ifc, _, _ = strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			continue
		}
		if len(f) < 2 || f[0] != "inet" {
			continue
		}
		pfx, err := netip.ParsePrefix(f[1])
		if err != nil {
			continue
		}
		rank := 1
		switch {
		case ifc == "eth0":
			rank = 0
		case pfx.Addr().IsLoopback():
			rank = 2
		}
		addrs = append(addrs, addr{pfx.Addr().String(), rank})
	}
	slices.SortStableFunc(addrs, func(a, b addr) int { return a.rank - b.rank })
	var outAddrs []string
	for _, a := range addrs {
		if !slices.Contains(outAddrs, a.a) {
			outAddrs = append(outAddrs, a.a)
		}
	}
	return outAddrs
}

// ErrNoPods is returned by Pod when the dump holds no Pods of the
// namespace.
var ErrNoPods = errors.New("the dump holds no pods of that namespace")

// Pod returns the address and node of pod namespace/name from the
// dump's cluster objects.
func (d DumpDir) Pod(namespace, name string) (addr, node string, err error) {
	file := filepath.Join(string(d), filepath.FromSlash(reports.ClusterDir(namespace)), diag.FilePods)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("pod %s/%s: %w (no %s)", namespace, name, ErrNoPods, file)
	}
	if err != nil {
		return "", "", fmt.Errorf("reading pods: %w", err)
	}
	var list corev1.PodList
	if err := yaml.Unmarshal(data, &list); err != nil {
		return "", "", fmt.Errorf("parsing %s: %w", file, err)
	}
	for _, p := range list.Items {
		if p.Name == name {
			return PodSource(&p)
		}
	}
	return "", "", fmt.Errorf("the dump holds no pod %s/%s (in %s)", namespace, name, file)
}

// PodSource returns a pod's address and node, or why it has none.
func PodSource(p *corev1.Pod) (addr, node string, err error) {
	if p.Spec.NodeName == "" || p.Status.PodIP == "" {
		return "", "", fmt.Errorf("pod %s/%s has no node or address yet", p.Namespace, p.Name)
	}
	if p.Spec.HostNetwork {
		return "", "", fmt.Errorf("pod %s/%s uses the host network: use --from node %s", p.Namespace, p.Name, p.Spec.NodeName)
	}
	return p.Status.PodIP, p.Spec.NodeName, nil
}
