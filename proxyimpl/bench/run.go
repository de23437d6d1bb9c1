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
)

// run is one proxy's measurement at one size.
type run struct {
	Proxy    string        `json:"proxy"`
	Services int           `json:"services"`
	Result   result        `json:"result"`
	Wall     time.Duration `json:"wall"`
}

// runAll runs every proxy at every size, each in a child process in a
// fresh network namespace, one after the other.
func runAll(ctx context.Context, sizes []int, list []impl, partials int, limit time.Duration) ([]run, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var runs []run
	var failed error
	for _, n := range sizes {
		for _, im := range list {
			fmt.Fprintf(os.Stderr, "bench: %s, %d Services x 10 endpoints ...\n", im.name, n)
			r, err := runOne(ctx, self, im, n, partials, limit)
			if ctx.Err() != nil {
				return runs, ctx.Err()
			}
			if err != nil {
				// One proxy failing costs its row, not the others.
				fmt.Fprintf(os.Stderr, "bench: %v\n", err)
				r.Result.Stopped = "failed: " + firstLine(err.Error())
				runs = append(runs, r)
				failed = errors.Join(failed, err)
				continue
			}
			fmt.Fprintf(os.Stderr, "bench: %s, %d Services: first full %s, restart full %s, peak RSS %d MiB (%s)\n",
				im.name, n, r.Result.FirstFull.Round(time.Millisecond), r.Result.RestartFull.Round(time.Millisecond),
				r.Result.PeakRSS/1024, r.Wall.Round(time.Second))
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

// runOne runs im on n Services in a namespace of its own, deleted after.
func runOne(ctx context.Context, self string, im impl, n, partials int, limit time.Duration) (run, error) {
	r := run{Proxy: im.name, Services: n}
	ns := fmt.Sprintf("svcbench-%d", os.Getpid())
	if err := sh(ctx, "ip", "netns", "add", ns); err != nil {
		return r, err
	}
	defer func() { _ = sh(context.WithoutCancel(ctx), "ip", "netns", "delete", ns) }()
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		// A veth pair within the namespace carries the node address (this
		// kernel has no dummy device).
		{"link", "add", "bench0", "type", "veth", "peer", "name", "bench1"},
		{"addr", "add", nodeIP.String() + "/24", "dev", "bench0"},
		{"link", "set", "bench0", "up"},
		{"link", "set", "bench1", "up"},
	} {
		if err := sh(ctx, "ip", append([]string{"-n", ns}, args...)...); err != nil {
			return r, err
		}
	}
	path, cleanup, err := backendPath(im.backend)
	if err != nil {
		return r, err
	}
	defer cleanup()
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(cctx, "ip", "netns", "exec", ns, self, "-child", im.name,
		"-n", fmt.Sprint(n), "-partials", fmt.Sprint(partials))
	cmd.Env = append(os.Environ(), "PATH="+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	r.Wall = time.Since(start)
	switch {
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		r.Result.Stopped = fmt.Sprintf("stopped at the %s limit", limit)
		return r, nil
	case err != nil:
		return r, fmt.Errorf("%s at %d Services: %w\n%s", im.name, n, err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout.Bytes(), &r.Result); err != nil {
		return r, fmt.Errorf("%s at %d Services: reading its result: %w", im.name, n, err)
	}
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
