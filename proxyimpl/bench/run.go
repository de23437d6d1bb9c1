package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxyimpl/integration"
)

// run is one proxy's measurement at one size.
type run struct {
	Proxy    string        `json:"proxy"`
	Services int           `json:"services"`
	Result   result        `json:"result"`
	Wall     time.Duration `json:"wall"`
	// Walked is the rules a first packet from a pod walks to the
	// last-added Service, MostWalked the most it walks to any Service,
	// ConnsPerSecond the new connections per second to the last-added
	// Service from that pod through the node, ConnsPerSecondMost those to
	// the Service walked most: all measured over the rules the proxy
	// left, unless NotMeasured says why not.
	Walked         *walked `json:"walkedToLastService,omitempty"`
	MostWalked     *walked `json:"mostWalkedToAnyService,omitempty"`
	ConnsPerSecond float64 `json:"connsPerSecondToLastService,omitempty"`
	// ConnsPerSecondMost is the rate to the Service walked most.
	ConnsPerSecondMost float64 `json:"connsPerSecondToMostWalked,omitempty"`
	NotMeasured        string  `json:"notMeasured,omitempty"`
}

// options are the settings of a run of every proxy.
type options struct {
	partials int
	limit    time.Duration
	// connTime is how long to measure the connection rate.
	connTime time.Duration
}

// runAll runs every proxy at every size, each in a child process in a
// fresh network namespace, one after the other.
func runAll(ctx context.Context, sizes []int, list []impl, o options) ([]run, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var runs []run
	var failed error
	for _, n := range sizes {
		for _, im := range list {
			fmt.Fprintf(os.Stderr, "bench: %s, %d Services x 10 endpoints ...\n", im.name, n)
			r, err := runOne(ctx, self, im, n, o)
			if ctx.Err() != nil {
				return runs, ctx.Err()
			}
			if err != nil {
				// One proxy failing costs its row, not the others.
				fmt.Fprintf(os.Stderr, "bench: %v\n", err)
				if r.NotMeasured == "" {
					// The proxy did not run or failed; a failed
					// measurement keeps the proxy's figures.
					r.Result.Stopped = "failed: " + firstLine(err.Error())
					r.NotMeasured = "the proxy failed"
				}
				runs = append(runs, r)
				failed = errors.Join(failed, err)
				continue
			}
			if r.Result.Stopped != "" {
				fmt.Fprintf(os.Stderr, "bench: %s, %d Services: %s\n", im.name, n, r.Result.Stopped)
				runs = append(runs, r)
				continue
			}
			fmt.Fprintf(os.Stderr, "bench: %s, %d Services: first full %s, restart full %s, peak RSS %d MiB, %s rules walked (at most %s), %.0f conns/s (%.0f to the most walked) (%s)\n",
				im.name, n, r.Result.FirstFull.Round(time.Millisecond), r.Result.RestartFull.Round(time.Millisecond),
				r.Result.PeakRSS/1024, r.Walked, r.MostWalked, r.ConnsPerSecond, r.ConnsPerSecondMost, r.Wall.Round(time.Second))
			runs = append(runs, r)
		}
	}
	return runs, failed
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// runOne runs im on n Services in the node of a namespace topology of its
// own (integration.Build: the node, two pods behind it, deleted after).
// When the proxy finished, it measures the rules a first packet walks and
// the connection rate over the rules the proxy left (measureNode).
func runOne(ctx context.Context, self string, im impl, n int, o options) (run, error) {
	r := run{Proxy: im.name, Services: n}
	topo, err := integration.Build(ctx, kindexec.DefaultCmder, integration.Config{
		Prefix: fmt.Sprintf("svcbench-%d-", os.Getpid()), Nodes: 1, PodsPerNode: 2, Exe: self,
	})
	if err != nil {
		return r, err
	}
	defer func() { _ = topo.Delete(context.WithoutCancel(ctx)) }()
	node := topo.Nodes[0]
	if node.IP != nodeIP || !integration.ClusterCIDR.Contains(node.Pods[0].IP) {
		return r, fmt.Errorf("the topology's node is %s, its pod %s: the synthetic cluster wants node %s and pods in %s",
			node.IP, node.Pods[0].IP, nodeIP, clusterCIDR)
	}
	path, cleanup, err := backendPath(im.backend)
	if err != nil {
		return r, err
	}
	defer cleanup()
	cctx, cancel := context.WithTimeout(ctx, o.limit)
	defer cancel()
	cmd := exec.CommandContext(cctx, "ip", "netns", "exec", node.NS, self, "-child", im.name,
		"-n", fmt.Sprint(n), "-partials", fmt.Sprint(o.partials))
	cmd.Env = append(os.Environ(), "PATH="+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	r.Wall = time.Since(start)
	switch {
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		r.Result.Stopped = fmt.Sprintf("did not finish within %s", o.limit)
		r.NotMeasured = "the proxy did not finish"
		return r, nil
	case err != nil:
		return r, fmt.Errorf("%s at %d Services: %w\n%s", im.name, n, err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout.Bytes(), &r.Result); err != nil {
		return r, fmt.Errorf("%s at %d Services: reading its result: %w", im.name, n, err)
	}
	mstart := time.Now()
	m, err := measureNode(ctx, topo, im, n, o.partials, o.connTime)
	fmt.Fprintf(os.Stderr, "bench: %s, %d Services: walk and connection rate measured in %s\n", im.name, n, time.Since(mstart).Round(time.Millisecond))
	if err != nil {
		r.NotMeasured = "failed: " + firstLine(err.Error())
		return r, fmt.Errorf("%s at %d Services: %w", im.name, n, err)
	}
	r.Walked, r.MostWalked, r.ConnsPerSecond, r.ConnsPerSecondMost = &m.last, &m.worst, m.connRate, m.worstRate
	return r, nil
}

// backendPath returns a PATH whose iptables, iptables-save and
// iptables-restore are backend's ("legacy" or "nft"), ahead of the
// system's; "" leaves PATH alone.
func backendPath(backend string) (string, func(), error) {
	path := os.Getenv("PATH")
	if backend == "" {
		return path, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "svcbench-path-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	for _, tool := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
		target, err := exec.LookPath(tool[:len(tool)-len(suffix(tool))] + "-" + backend + suffix(tool))
		if err != nil {
			cleanup()
			return "", nil, fmt.Errorf("iptables backend %s: %w", backend, err)
		}
		if err := os.Symlink(target, filepath.Join(dir, tool)); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	return dir + ":" + path, cleanup, nil
}

// suffix is "-save", "-restore" or "" for an iptables tool name.
func suffix(tool string) string {
	for _, s := range []string{"-save", "-restore"} {
		if len(tool) > len(s) && tool[len(tool)-len(s):] == s {
			return s
		}
	}
	return ""
}

func sh(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w: %s", name, args, err, out)
	}
	return nil
}
