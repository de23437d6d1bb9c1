package cluster

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"
)

// dockerCmder answers docker commands from a table keyed by command line,
// with "docker run --rm --entrypoint /bin/sh IMG ..." shortened to
// "docker run IMG". It records the (shortened) lines it ran and, for each
// docker pull, how long its context had left.
type dockerCmder struct {
	mu         sync.Mutex
	answers    map[string]dockerAnswer
	calls      []string
	pullBounds []time.Duration
}

// dockerAnswer is what a fake docker command prints and returns. When wait
// is not nil the command first blocks until wait is closed or its context
// ends, failing after 10 s so a broken test does not hang.
type dockerAnswer struct {
	out  string
	err  error
	wait <-chan struct{}
}

var _ exec.Cmder = (*dockerCmder)(nil)

func (d *dockerCmder) Command(name string, args ...string) exec.Cmd {
	return d.CommandContext(context.Background(), name, args...)
}

func (d *dockerCmder) CommandContext(ctx context.Context, name string, args ...string) exec.Cmd {
	line := strings.Join(append([]string{name}, args...), " ")
	if rest, ok := strings.CutPrefix(line, "docker run --rm --entrypoint /bin/sh "); ok {
		line = "docker run " + strings.Fields(rest)[0]
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, line)
	if strings.HasPrefix(line, "docker pull ") {
		if dl, ok := ctx.Deadline(); ok {
			d.pullBounds = append(d.pullBounds, time.Until(dl))
		}
	}
	answer, known := d.answers[line]
	return &dockerCmd{ctx: ctx, line: line, answer: answer, known: known}
}

type dockerCmd struct {
	ctx    context.Context
	line   string
	answer dockerAnswer
	known  bool
	stdout io.Writer
}

func (c *dockerCmd) Run() error {
	if !c.known {
		return &exec.RunError{Command: strings.Fields(c.line), Inner: errors.New("fake: unexpected command")}
	}
	if c.answer.wait != nil {
		select {
		case <-c.answer.wait:
		case <-c.ctx.Done():
			return &exec.RunError{Command: strings.Fields(c.line), Inner: errors.New("signal: killed")}
		case <-time.After(10 * time.Second):
			return &exec.RunError{Command: strings.Fields(c.line), Inner: errors.New("fake: waited 10s")}
		}
	}
	if c.stdout != nil {
		_, _ = io.WriteString(c.stdout, c.answer.out)
	}
	if c.answer.err != nil {
		return &exec.RunError{Command: strings.Fields(c.line), Inner: c.answer.err}
	}
	return nil
}

func (c *dockerCmd) SetEnv(...string) exec.Cmd      { return c }
func (c *dockerCmd) SetStdin(io.Reader) exec.Cmd    { return c }
func (c *dockerCmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *dockerCmd) SetStderr(io.Writer) exec.Cmd   { return c }

// progressRecorder keeps progress output and closes heartbeat at the first
// "still running" line.
type progressRecorder struct {
	mu        sync.Mutex
	text      strings.Builder
	heartbeat chan struct{}
}

func (p *progressRecorder) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.text.Write(b)
	if p.heartbeat != nil && strings.Contains(string(b), "still running") {
		close(p.heartbeat)
		p.heartbeat = nil
	}
	return len(b), nil
}

// lines returns the progress lines without their elapsed-time prefix, with
// durations in parentheses replaced by D and repeats collapsed.
func (p *progressRecorder) lines() []string {
	prefix := regexp.MustCompile(`^\[[^]]*\] `)
	duration := regexp.MustCompile(`\([0-9][0-9a-zµ.]*\)`)
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(p.text.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		l = duration.ReplaceAllString(prefix.ReplaceAllString(l, ""), "(D)")
		if len(out) > 0 && out[len(out)-1] == l {
			continue
		}
		out = append(out, l)
	}
	return out
}

func TestChooseNodeImage(t *testing.T) {
	const img = "kindest/node:v1.35.0"
	inspect := func(image string) string { return "docker image inspect --format {{.Id}} " + image }
	pull := func(image string) string { return "docker pull --quiet " + image }
	cni := func(image string) string { return "docker run " + image }
	exit1 := errors.New("exit status 1")
	noSuchImage := func(image string) dockerAnswer {
		return dockerAnswer{out: "Error: No such image: " + image, err: exit1}
	}
	noRegistry := "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host"
	for _, tc := range []struct {
		name     string
		explicit string
		answers  map[string]dockerAnswer
		// slowPull makes the pull wait for a heartbeat line.
		slowPull  bool
		cancelled bool

		wantImage      string
		wantDisableCNI bool
		wantCalls      []string
		wantProgress   []string
		wantPullBound  time.Duration
		wantErr        []string // substrings of the error
		wantErrIs      error
		wantErrLacks   string
	}{
		{
			name:      "explicit image Docker has",
			explicit:  img,
			answers:   map[string]dockerAnswer{inspect(img): {out: "sha256:1"}, cni(img): {out: "yes\n"}},
			wantImage: img,
			wantCalls: []string{inspect(img), cni(img)},
		},
		{
			name:     "explicit image Docker lacks is pulled",
			explicit: img,
			answers: map[string]dockerAnswer{
				inspect(img): noSuchImage(img), pull(img): {out: "docker.io/" + img + "\n"}, cni(img): {out: "no\n"},
			},
			wantImage:      img,
			wantDisableCNI: true,
			wantCalls:      []string{inspect(img), pull(img), cni(img)},
			wantProgress:   []string{"pulling node image " + img + " (Docker does not have it)", "pulled node image " + img},
			wantPullBound:  explicitPullTimeout,
		},
		{
			name:     "slow explicit pull shows it is still running",
			explicit: img,
			answers: map[string]dockerAnswer{
				inspect(img): noSuchImage(img), pull(img): {out: "docker.io/" + img + "\n"}, cni(img): {out: "yes\n"},
			},
			slowPull:  true,
			wantImage: img,
			wantCalls: []string{inspect(img), pull(img), cni(img)},
			wantProgress: []string{
				"pulling node image " + img + " (Docker does not have it)",
				"pulling node image " + img + ": still running (D)",
				"pulled node image " + img,
			},
			wantPullBound: explicitPullTimeout,
		},
		{
			name:          "explicit image that cannot be pulled",
			explicit:      img,
			answers:       map[string]dockerAnswer{inspect(img): noSuchImage(img), pull(img): {out: noRegistry + "\n", err: exit1}},
			wantCalls:     []string{inspect(img), pull(img)},
			wantProgress:  []string{"pulling node image " + img + " (Docker does not have it)"},
			wantPullBound: explicitPullTimeout,
			wantErr: []string{
				"node image unavailable: " + img + ": Docker does not have it and cannot pull it",
				"svccheck image build-node", "--node-image", "omit --node-image",
				`"docker pull --quiet ` + img + `"`, "exit status 1", noRegistry,
			},
		},
		{
			name:          "explicit pull cancelled",
			explicit:      img,
			answers:       map[string]dockerAnswer{inspect(img): noSuchImage(img), pull(img): {wait: make(chan struct{})}},
			cancelled:     true,
			wantCalls:     []string{inspect(img), pull(img)},
			wantProgress:  []string{"pulling node image " + img + " (Docker does not have it)"},
			wantPullBound: explicitPullTimeout,
			wantErr:       []string{"pulling node image " + img},
			wantErrIs:     context.Canceled,
			wantErrLacks:  "build-node",
		},
		{
			name:      "kind's default image Docker has",
			answers:   map[string]dockerAnswer{inspect(KindDefaultImage): {out: "sha256:2"}, cni(KindDefaultImage): {out: "yes\n"}},
			wantImage: KindDefaultImage,
			wantCalls: []string{inspect(KindDefaultImage), cni(KindDefaultImage)},
		},
		{
			name: "kind's default image pulled",
			answers: map[string]dockerAnswer{
				inspect(KindDefaultImage): noSuchImage(KindDefaultImage), pull(KindDefaultImage): {}, cni(KindDefaultImage): {out: "yes\n"},
			},
			wantImage:     KindDefaultImage,
			wantCalls:     []string{inspect(KindDefaultImage), pull(KindDefaultImage), cni(KindDefaultImage)},
			wantProgress:  []string{"pulled kind's default node image " + KindDefaultImage},
			wantPullBound: pullTimeout,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &progressRecorder{}
			prog := &progress{w: rec, start: time.Now(), heartbeatEvery: time.Hour}
			if tc.slowPull {
				rec.heartbeat = make(chan struct{})
				prog.heartbeatEvery = time.Millisecond
				a := tc.answers[pull(tc.explicit)]
				a.wait = rec.heartbeat
				tc.answers[pull(tc.explicit)] = a
			}
			// Longer than any pull bound, so the bound the code sets shows.
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			if tc.cancelled {
				cancel()
			}
			f := &dockerCmder{answers: tc.answers}
			image, disableCNI, err := chooseNodeImage(ctx, f, tc.explicit, prog)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("chooseNodeImage: %v", err)
				}
				if image != tc.wantImage || disableCNI != tc.wantDisableCNI {
					t.Errorf("chooseNodeImage = (%q, %v), want (%q, %v)", image, disableCNI, tc.wantImage, tc.wantDisableCNI)
				}
			}
			for _, want := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("chooseNodeImage error = %v, want it to contain %q", err, want)
				}
			}
			if tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs) {
				t.Errorf("chooseNodeImage error = %v, want it to wrap %v", err, tc.wantErrIs)
			}
			if tc.wantErrLacks != "" && err != nil && strings.Contains(err.Error(), tc.wantErrLacks) {
				t.Errorf("chooseNodeImage error = %v, want it without %q", err, tc.wantErrLacks)
			}
			if diff := cmp.Diff(tc.wantCalls, f.calls); diff != "" {
				t.Errorf("docker commands (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantProgress, rec.lines()); diff != "" {
				t.Errorf("progress lines (-want +got):\n%s", diff)
			}
			for _, got := range f.pullBounds {
				// The bound is set just before the fake records it.
				if got > tc.wantPullBound || got < tc.wantPullBound-5*time.Second {
					t.Errorf("docker pull had %s left, want the %s bound", got, tc.wantPullBound)
				}
			}
		})
	}
}

func TestPullImageGivesUp(t *testing.T) {
	const img = "kindest/node:v1.35.0"
	f := &dockerCmder{answers: map[string]dockerAnswer{"docker pull --quiet " + img: {wait: make(chan struct{})}}}
	err := pullImage(context.Background(), f, img, 10*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "running docker pull --quiet "+img+": gave up after 10ms") {
		t.Errorf("pullImage error = %v, want it to give up after 10ms with context.DeadlineExceeded", err)
	}
}
