// Command bench feeds one synthetic cluster to svccheck's proxy and to
// kube-proxy v1.37's own Proxiers, each in a fresh network namespace of its
// own programming the kernel with the real tools, and prints their sync
// times and memory side by side.
//
// It is its own Go module, so that k8s.io/kubernetes never enters
// svccheck's go.mod. Run it as root from this directory:
//
//	go run . -sizes 1000,3000,10000
//
// Each proxy runs in a child process (this program with -child) inside
// its namespace, so its peak RSS is its own. Over the rules it leaves, this
// process then counts the rules a first packet walks to the last-added
// Service and measures the new-connection rate to it with real packets
// from a pod behind the node (measure.go).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/svccheck/svccheck/proxyimpl/integration"
)

// result is what a child measured.
type result struct {
	FirstFull   time.Duration   `json:"firstFull"`
	RestartFull time.Duration   `json:"restartFull"`
	Partial     []time.Duration `json:"partial"`
	// PeakRSS is the child's VmHWM, in KiB.
	PeakRSS int `json:"peakRSSKiB"`
	// Stopped says why the child did not finish, if it did not.
	Stopped string `json:"stopped,omitempty"`
}

func main() {
	var (
		child    = flag.String("child", "", "internal: run one proxy (an -impls name) in this process")
		sizes    = flag.String("sizes", "1000,3000,10000", "numbers of Services, comma-separated")
		impls    = flag.String("impls", strings.Join(implNames(), ","), "proxies to run, comma-separated")
		n        = flag.Int("n", 1000, "with -child: number of Services")
		partials = flag.Int("partials", 5, "one-Service partial syncs to measure per proxy")
		limit    = flag.Duration("limit", 20*time.Minute, "stop a proxy's run after this long and say so")
		jsonOut  = flag.String("json", "", "also write the results as JSON to this file")
		connTime = flag.Duration("conn-time", 3*time.Second, "how long to measure each proxy's connection rate")
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv(integration.EnvChild) != "" {
		// The echo server of a connection-rate measurement (measure.go).
		if err := integration.RunChild(ctx, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench echo server:", err)
			os.Exit(1)
		}
		return
	}
	flag.Parse()
	if *child != "" {
		if err := runChild(ctx, *child, *n, *partials); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	ns, err := parseSizes(*sizes)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	list, err := parseImpls(*impls)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench needs root: it makes network namespaces and programs them with iptables and nft")
		os.Exit(2)
	}
	runs, err := runAll(ctx, ns, list, options{partials: *partials, limit: *limit, connTime: *connTime})
	writeTable(os.Stdout, runs)
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(runs, "", "  ")
		if werr := os.WriteFile(*jsonOut, data, 0o644); werr != nil {
			fmt.Fprintln(os.Stderr, werr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// runChild runs impl on n Services in this process and prints its result
// as JSON on stdout.
func runChild(ctx context.Context, name string, n, partials int) error {
	im, ok := implByName(name)
	if !ok {
		return fmt.Errorf("unknown proxy %q", name)
	}
	res, err := im.run(ctx, newCluster(n), partials)
	if err != nil {
		return err
	}
	res.PeakRSS = peakRSS()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// peakRSS reads this process's VmHWM from /proc, in KiB.
func peakRSS() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kib
		}
	}
	return 0
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 || v > 60000 {
			return nil, fmt.Errorf("-sizes: %q is not a number of Services between 1 and 60000", f)
		}
		out = append(out, v)
	}
	return out, nil
}
