package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/suites/cluster"
)

func TestRunOptionsComplete(t *testing.T) {
	now := time.Date(2026, 11, 22, 2, 30, 5, 0, time.UTC)
	tests := []struct {
		name    string
		opts    runOptions
		wantErr string
		check   func(t *testing.T, o *runOptions)
	}{
		{name: "defaults", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2},
			check: func(t *testing.T, o *runOptions) {
				if o.name != defaultRunName || o.output != "svccheck-results/20261122-023005" || o.proxyMode != proxy.Svccheck {
					t.Errorf("got name %q output %q mode %q", o.name, o.output, o.proxyMode)
				}
			}},
		{name: "reuse defaults to the cluster command's name", opts: runOptions{proxy: "kube-proxy:iptables", reuse: true, parallel: 1, timeout: time.Minute, workers: 2},
			check: func(t *testing.T, o *runOptions) {
				if o.name != cluster.DefaultName || o.proxyMode != proxy.KubeProxy {
					t.Errorf("got name %q mode %q", o.name, o.proxyMode)
				}
			}},
		{name: "unknown proxy", opts: runOptions{proxy: "cilium", parallel: 1, timeout: time.Minute, workers: 2}, wantErr: "--proxy"},
		{name: "parallel", opts: runOptions{proxy: "svccheck", parallel: 3, timeout: time.Minute, workers: 2},
			check: func(t *testing.T, o *runOptions) {
				if o.parallel != 3 {
					t.Errorf("got parallel %d, want 3", o.parallel)
				}
			}},
		{name: "parallel child of a parallel run", opts: runOptions{proxy: "svccheck", parallel: 3, parallelChild: true, timeout: time.Minute, workers: 2}, wantErr: "--parallel must be 1"},
		{name: "parallel zero", opts: runOptions{proxy: "svccheck", parallel: 0, timeout: time.Minute, workers: 2}, wantErr: "at least 1"},
		{name: "bad label filter", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, labelFilter: "ClusterIP &&"}, wantErr: "--label-filter"},
		{name: "one worker", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 1}, wantErr: "--workers"},
		{name: "no timeout", opts: runOptions{proxy: "svccheck", parallel: 1, workers: 2}, wantErr: "--timeout"},
		{name: "break kube-proxy", opts: runOptions{proxy: "kube-proxy", parallel: 1, timeout: time.Minute, workers: 2, breakMode: "affinity"}, wantErr: "svccheck's proxy only"},
		{name: "break unknown", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, breakMode: "reject,nodeport"}, wantErr: `unknown breakage "nodeport"`},
		{name: "break several", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, breakMode: "reject, etplocal,reject"},
			check: func(t *testing.T, o *runOptions) {
				if o.breakMode != "etplocal,reject" {
					t.Errorf("got --break %q, want the sorted, distinct list %q", o.breakMode, "etplocal,reject")
				}
			}},
		{name: "compare reuse", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, compare: true, reuse: true}, wantErr: "--reuse"},
		{name: "reuse node image", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, reuse: true, nodeImage: "x"}, wantErr: "--node-image"},
		{name: "kubeconfig reuse", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, kubeconfig: "kc", reuse: true}, wantErr: "--reuse"},
		{name: "kubeconfig proxy", opts: runOptions{proxy: "kube-proxy", proxySet: true, parallel: 1, timeout: time.Minute, workers: 2, kubeconfig: "kc"}, wantErr: "detects"},
		{name: "image without kubeconfig", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, image: "r/i:1"}, wantErr: "--kubeconfig"},
		{name: "kubeconfig", opts: runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, kubeconfig: "kc", image: "r/i:1"},
			check: func(t *testing.T, o *runOptions) {
				if o.runID == "" {
					t.Error("no run id")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			err := o.complete(now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("complete() = %v, want an error containing %q", err, tt.wantErr)
				}
				if got := ExitCode(err); got != ExitUsage {
					t.Errorf("exit code %d, want %d", got, ExitUsage)
				}
				return
			}
			if err != nil {
				t.Fatalf("complete() = %v", err)
			}
			tt.check(t, &o)
		})
	}
}

func TestRunUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--proxy", "nope"},
		{"run", "--parallel", "2", "--parallel-child"},
		{"run", "--parallel", "-1"},
		{"run", "--no-such-flag"},
		{"run", "extra-arg"},
	} {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), args, &out, &errOut)
		if got := ExitCode(err); got != ExitUsage {
			t.Errorf("svccheck %v: exit %d (%v), want %d", args, got, err, ExitUsage)
		}
	}
}

func TestRunBreakFlagHidden(t *testing.T) {
	cmd := newRunCommand(&bytes.Buffer{}, &bytes.Buffer{})
	if f := cmd.Flags().Lookup("break"); f == nil || !f.Hidden {
		t.Fatalf("--break should exist and be hidden, got %+v", f)
	}
}

func TestRunOutputMustBeFree(t *testing.T) {
	empty, full := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "summary.md"), []byte("an earlier run"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, output string
		child        bool
		wantErr      string
	}{
		{name: "new directory", output: filepath.Join(empty, "new")},
		{name: "empty directory", output: empty},
		{name: "directory with an earlier run", output: full, wantErr: "already holds 1 files or directories (summary.md"},
		{name: "a parallel run's child writes where its parent says", output: full, child: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, output: tc.output, parallelChild: tc.child}
			err := o.complete(time.Now())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("complete() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ExitCode(err) != ExitUsage {
				t.Errorf("complete() = %v, want a usage error containing %q", err, tc.wantErr)
			}
			if data, _ := os.ReadFile(filepath.Join(full, "summary.md")); string(data) != "an earlier run" {
				t.Errorf("the earlier run's summary.md was changed: %q", data)
			}
		})
	}
}

// TestClaimOutput: a second run on a claimed --output is a usage error
// naming the first; a run that wrote nothing gives the directory back.
func TestClaimOutput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	release, err := claimOutput(dir)
	if err != nil {
		t.Fatalf("claimOutput: %v", err)
	}
	_, err = claimOutput(dir)
	if err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), fmt.Sprintf("(pid %d,", os.Getpid())) {
		t.Errorf("second claimOutput = %v, want a usage error naming this process", err)
	}
	release()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("an unused claimed directory stayed (stat: %v)", err)
	}
}

// TestRunOutputClaimedNamesOwner: the early check names the run holding
// the directory.
func TestRunOutputClaimedNamesOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	release, err := claimOutput(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	err = checkOutputFree(dir)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("is claimed by svccheck (pid %d,", os.Getpid())) {
		t.Errorf("checkOutputFree of a claimed directory = %v, want it to name the claiming run", err)
	}
}
