package render

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/internal/leftover"
	"github.com/svccheck/svccheck/internal/testenv"
	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// backends are the iptables backends the real-restore tests run against.
var backends = []iptables.Backend{iptables.BackendLegacy, iptables.BackendNFT}

// needRealIPTables skips tb unless it may create network namespaces and
// run both iptables backends.
func needRealIPTables(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping real iptables-restore runs under -short")
	}
	testenv.NeedRootAndTools(tb, "real iptables-restore runs in network namespaces",
		"ip", "iptables-legacy-restore", "iptables-nft-restore", "iptables-legacy-save", "iptables-nft-save")
}

// scratchCount numbers the namespaces of this process.
var scratchCount atomic.Int64

// scratch is a network namespace created for one test, so real restores
// never touch the host's tables.
type scratch struct {
	name  string
	cmder exec.Cmder
}

// newScratch creates a network namespace, deleted when tb ends.
func newScratch(tb testing.TB) *scratch {
	tb.Helper()
	s := &scratch{
		name:  leftover.Name(leftover.NetNSPrefix, fmt.Sprintf("render-%d", scratchCount.Add(1))),
		cmder: &exec.LocalCmder{},
	}
	// Fuzz workers are killed without running their cleanups.
	if err := leftover.ReapNetNSOnce(context.Background()); err != nil {
		tb.Logf("removing network namespaces of test processes that are gone: %v", err)
	}
	if _, err := s.host(nil, "ip", "netns", "add", s.name); err != nil {
		tb.Fatalf("creating network namespace: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := s.host(nil, "ip", "netns", "delete", s.name); err != nil {
			tb.Errorf("deleting network namespace: %v", err)
		}
	})
	return s
}

// host runs a command on the host with stdin, returning its stdout.
func (s *scratch) host(stdin []byte, name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := s.cmder.Command(name, args...).SetStdout(&stdout).SetStderr(&stderr).
		SetStdin(bytes.NewReader(stdin))
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("running %s %q: %w: %s", name, args, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// run runs a command inside the namespace.
func (s *scratch) run(stdin []byte, args ...string) ([]byte, error) {
	return s.host(stdin, "ip", append([]string{"netns", "exec", s.name}, args...)...)
}

// restore feeds text to "iptables-<backend>-restore --noflush" (with
// --test when test is set) inside the namespace.
func (s *scratch) restore(b iptables.Backend, text []byte, test bool) error {
	// -w: the legacy backend's xtables lock is shared by all namespaces.
	args := []string{"iptables-" + string(b) + "-restore", "--noflush", "-w", "10"}
	if test {
		args = append(args, "--test")
	}
	_, err := s.run(text, args...)
	return err
}

// save returns "iptables-<backend>-save" of the nat and filter tables.
func (s *scratch) save(b iptables.Backend) ([]byte, error) {
	var out []byte
	for _, t := range []iptables.Table{iptables.TableFilter, iptables.TableNAT} {
		text, err := s.run(nil, "iptables-"+string(b)+"-save", "-t", string(t))
		if err != nil {
			return nil, err
		}
		out = append(out, text...)
	}
	return out, nil
}
