package probe

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/exec"
)

// recordCmder records the command line it is asked to run and prints out.
type recordCmder struct {
	argv []string
	out  string
}

func (r *recordCmder) Command(name string, args ...string) exec.Cmd {
	return r.CommandContext(context.Background(), name, args...)
}

func (r *recordCmder) CommandContext(_ context.Context, name string, args ...string) exec.Cmd {
	r.argv = append([]string{name}, args...)
	return &recordCmd{out: r.out}
}

type recordCmd struct {
	out    string
	stdout io.Writer
}

func (c *recordCmd) Run() error                     { _, err := io.WriteString(c.stdout, c.out); return err }
func (c *recordCmd) SetEnv(...string) exec.Cmd      { return c }
func (c *recordCmd) SetStdin(io.Reader) exec.Cmd    { return c }
func (c *recordCmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *recordCmd) SetStderr(io.Writer) exec.Cmd   { return c }

// TestExternalProber checks the prober runs the agent in the container by
// docker exec and parses what it prints.
func TestExternalProber(t *testing.T) {
	cmder := &recordCmder{out: `{"attempts":[{"seq":1,"ok":true,"hostname":"web-0","client":"172.18.0.9:4000"}]}`}
	p := &ExternalProber{Container: "kind-svccheck-client-1", Cmder: cmder}
	res, err := p.Probe(context.Background(), Request{Target: "172.18.0.2:30080", Protocol: HTTP})
	if err != nil {
		t.Fatal(err)
	}
	want := "docker exec kind-svccheck-client-1 svccheck agent probe --target 172.18.0.2:30080 --protocol http --count 1 --timeout 2s --json"
	if got := strings.Join(cmder.argv, " "); got != want {
		t.Errorf("ran %q, want %q", got, want)
	}
	if diff := cmp.Diff(Result{{Outcome: Answered, Hostname: "web-0", Client: "172.18.0.9:4000"}}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if p.Source() != "container kind-svccheck-client-1" {
		t.Errorf("Source() = %q", p.Source())
	}
}
