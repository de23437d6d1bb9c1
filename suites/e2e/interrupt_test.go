//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/nodeimage"
)

// Stage markers svccheck run writes on stderr (cluster.Stage*, and the
// run's own), and the line of a spec that started.
const (
	stageSpecs  = "stage: specs"
	stageDumps  = "stage: dumps"
	stageDelete = "stage: cluster delete"
)

var specStarted = regexp.MustCompile(`^\[\d+/\d+ [^]]*\] .* \.\.\.$`)

// Specs the interruption runs focus on: one that runs long enough to be
// interrupted in, one quick.
const (
	longSpec  = "ClusterIP reaches every backend over time"
	quickSpec = "Headless gets no ClusterIP"
)

// exitInterrupted is the exit code of `svccheck run` cut short by Ctrl-C
// (README: "1 when a spec failed or the run was interrupted").
const exitInterrupted = 1

// cachedNodeImage is the air-gapped node image, which must survive an
// interrupted build of another one untouched.
var cachedNodeImage = envOr("SVCCHECK_E2E_NODE_IMAGE", "svccheck/node:v1.37.0-f6dcdb45eb93")

// interrupted is what an interrupted run left.
type interrupted struct {
	code  int
	lines []string
	took  time.Duration
}

// interruptAt runs svccheck with args (and env added), sends SIGINT to its
// process group once a
// stderr line contains marker (and then, when next is set, a line matches
// next), after delay, and waits for svccheck to exit.
func interruptAt(t *testing.T, env []string, marker string, next *regexp.Regexp, delay time.Duration, args ...string) interrupted {
	t.Helper()
	t.Logf("running %s %s; Ctrl-C at %q", binary, strings.Join(args, " "), marker)
	cmd := osexec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	// A process group of its own, signalled whole, as a terminal's Ctrl-C
	// signals the foreground group: svccheck's children (docker, kind's
	// commands, debootstrap) get the SIGINT too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout = os.Stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reached := make(chan struct{})
	lines := make(chan []string)
	go func() { lines <- readUntil(stderr, marker, next, reached) }()
	select {
	case <-reached:
	case <-time.After(15 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("svccheck never reached %q", marker)
	}
	time.Sleep(delay)
	t.Logf("stage %q reached after %s: sending SIGINT", marker, time.Since(start).Round(time.Second))
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatalf("interrupting svccheck: %v", err)
	}
	got := <-lines
	err = cmd.Wait()
	r := interrupted{code: cmd.ProcessState.ExitCode(), lines: got, took: time.Since(start)}
	t.Logf("svccheck exited %d after %s (%v)", r.code, r.took.Round(time.Second), err)
	return r
}

// readUntil copies r to os.Stderr line by line, closes reached at the
// first line containing marker (and after it one matching next, if set),
// and returns every line once r ends.
func readUntil(r io.Reader, marker string, next *regexp.Regexp, reached chan struct{}) []string {
	var all []string
	seen, closed := false, false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(os.Stderr, line)
		all = append(all, line)
		if !seen && strings.Contains(line, marker) {
			seen = true
		}
		if seen && !closed && (next == nil || next.MatchString(line)) {
			closed = true
			close(reached)
		}
	}
	if !closed {
		close(reached)
	}
	return all
}

// dockerLines runs docker with args and returns its non-empty output lines.
func dockerLines(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := osexec.Command("docker", args...).Output()
	if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// checkClusterGone checks that no node container, client container,
// Docker network or kubeconfig of cluster name is left.
func checkClusterGone(t *testing.T, name string) {
	t.Helper()
	if c := dockerLines(t, "ps", "-a", "--filter", "label=io.x-k8s.kind.cluster="+name, "--format", "{{.Names}}"); len(c) > 0 {
		t.Errorf("node containers of cluster %s left behind: %v", name, c)
	}
	if c := dockerLines(t, "ps", "-a", "--filter", "label="+cluster.ExternalClientLabel+"="+name, "--format", "{{.Names}}"); len(c) > 0 {
		t.Errorf("client containers of cluster %s left behind: %v", name, c)
	}
	for _, n := range dockerLines(t, "network", "ls", "--format", "{{.Name}}") {
		if strings.Contains(n, name) {
			t.Errorf("Docker network %s of cluster %s left behind", n, name)
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		kc := filepath.Join(home, ".kube", "svccheck-"+name+".yaml")
		if _, err := os.Stat(kc); err == nil {
			t.Errorf("kubeconfig %s of cluster %s left behind", kc, name)
		}
	}
}

// TestInterrupt interrupts `svccheck run` with Ctrl-C in each stage that
// needs a cluster of its own or none (node image build, cluster create,
// image load, cluster delete) and checks what is left behind. The stages
// in a reused cluster (a spec, the dumps) run on TestRun's cluster
// (interruptChecks).
func TestInterrupt(t *testing.T) {
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("no svccheck binary at %s (run make build): %v", binary, err)
	}
	t.Run("node image build", testInterruptBuild)
	t.Run("cluster create", func(t *testing.T) {
		testInterruptCreate(t, "ic", cluster.StageCreate, 10*time.Second)
	})
	t.Run("image load", func(t *testing.T) {
		testInterruptCreate(t, "il", cluster.StageLoad, 0)
	})
	t.Run("cluster delete", testInterruptDelete)
}

// testInterruptCreate interrupts a run creating its cluster at marker.
func testInterruptCreate(t *testing.T, suffix, marker string, delay time.Duration) {
	c := leftover.Name(baseName, suffix)
	t.Cleanup(func() { run(t, context.Background(), "cluster", "delete", "--name", c) })
	out := outputDir(t, "interrupt-"+suffix)
	r := interruptAt(t, nil, marker, nil, delay, "run", "--name", c, "--output", out, "--focus", quickSpec)
	if r.code != exitInterrupted {
		t.Errorf("svccheck run interrupted at %q exited %d, want %d", marker, r.code, exitInterrupted)
	}
	checkLastStage(t, r, marker)
	checkClusterGone(t, c)
	checkReports(t, out, false)
}

// checkLastStage checks that the interrupt landed in stage marker: no
// later stage started.
func checkLastStage(t *testing.T, r interrupted, marker string) {
	t.Helper()
	last := ""
	for _, l := range r.lines {
		if strings.Contains(l, "stage: ") {
			last = l
		}
	}
	if !strings.Contains(last, marker) {
		t.Errorf("the run went on past %q before the interrupt took effect: its last stage was %q", marker, last)
	}
}

// testInterruptDelete interrupts a run while it deletes its cluster: the
// delete must finish, and the results stand.
func testInterruptDelete(t *testing.T) {
	c := leftover.Name(baseName, "id")
	t.Cleanup(func() { run(t, context.Background(), "cluster", "delete", "--name", c) })
	out := outputDir(t, "interrupt-id")
	r := interruptAt(t, nil, stageDelete, nil, 0, "run", "--name", c, "--output", out, "--focus", quickSpec)
	checkClusterGone(t, c)
	verdict := checkReports(t, out, true)
	checkVerdictCode(t, verdict, r.code)
}

// testInterruptBuild interrupts a run building a node image, under another
// name and cache directory than the cached air-gapped image, seconds into
// the build.
func testInterruptBuild(t *testing.T) {
	before := dockerLines(t, "image", "inspect", "--format", "{{.Id}}", cachedNodeImage)
	repo := fmt.Sprintf("svccheck/node-interrupt-%d", os.Getpid())
	cache := t.TempDir()
	c := leftover.Name(baseName, "ib")
	t.Cleanup(func() { run(t, context.Background(), "cluster", "delete", "--name", c) })
	out := outputDir(t, "interrupt-ib")
	env := []string{nodeimage.RepositoryEnv + "=" + repo, "XDG_CACHE_HOME=" + cache}
	// The root file system stage runs debootstrap, whose children write
	// into the work directory.
	started := regexp.MustCompile(`root filesystem +started`)
	r := interruptAt(t, env, cluster.StageBuild, started, 5*time.Second, "run", "--name", c, "--output", out)
	if r.code != exitInterrupted {
		t.Errorf("svccheck run interrupted in the node image build exited %d, want %d", r.code, exitInterrupted)
	}
	checkLastStage(t, r, cluster.StageBuild)
	// Whatever the build started must be gone, and stay gone.
	time.Sleep(5 * time.Second)
	work, _ := filepath.Glob(filepath.Join(cache, "svccheck", "work-*"))
	if len(work) > 0 {
		t.Errorf("build work directories left behind: %v", work)
	}
	if procs := processesMentioning(t, cache); len(procs) > 0 {
		t.Errorf("build processes left running: %v", procs)
	}
	if m := mountsUnder(t, cache); len(m) > 0 {
		t.Errorf("mounts left under the build's cache directory: %v", m)
	}
	if imgs := dockerLines(t, "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference="+repo+"*"); len(imgs) > 0 {
		t.Errorf("images of the interrupted build left behind: %v", imgs)
	}
	if cs := dockerLines(t, "ps", "-a", "--format", "{{.Names}} {{.Image}}"); strings.Contains(strings.Join(cs, "\n"), repo) {
		t.Errorf("containers of the interrupted build left behind: %v", cs)
	}
	after := dockerLines(t, "image", "inspect", "--format", "{{.Id}}", cachedNodeImage)
	if strings.Join(after, "") != strings.Join(before, "") {
		t.Errorf("cached node image %s changed from %v to %v", cachedNodeImage, before, after)
	}
	checkClusterGone(t, c)
	checkReports(t, out, false)
}

// processesMentioning lists the processes whose command line or working
// directory mention path.
func processesMentioning(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join(d, "cwd"))
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(line, path) || strings.HasPrefix(cwd, path) {
			out = append(out, fmt.Sprintf("%s: %s (in %s)", filepath.Base(d), line, cwd))
		}
	}
	return out
}

// mountsUnder lists the mount points below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir) {
			out = append(out, f[4])
		}
	}
	return out
}
