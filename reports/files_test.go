package reports

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestClaimDirConcurrent: of runs claiming one directory at the same
// instant, exactly one wins, whether the directory is new or exists empty.
func TestClaimDirConcurrent(t *testing.T) {
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing=%t", existing), func(t *testing.T) {
			for round := range 50 {
				dir := filepath.Join(t.TempDir(), "out")
				if existing {
					if err := os.Mkdir(dir, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				const runs = 4
				var wg sync.WaitGroup
				start := make(chan struct{})
				errs := make([]error, runs)
				for i := range runs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						_, errs[i] = ClaimDir(dir, fmt.Sprintf("run %d", i))
					}()
				}
				close(start)
				wg.Wait()
				won := 0
				for _, err := range errs {
					switch {
					case err == nil:
						won++
					case !errors.Is(err, ErrClaimed):
						t.Fatalf("round %d: a losing claim failed with %v, want ErrClaimed", round, err)
					}
				}
				if won != 1 {
					t.Fatalf("round %d: %d of %d concurrent claims won, want exactly one (errors %v)", round, won, runs, errs)
				}
			}
		})
	}
}

func TestClaimDir(t *testing.T) {
	base := t.TempDir()
	full := filepath.Join(base, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, FileSummary), []byte("an earlier run"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ClaimDir(full, "me"); !errors.Is(err, ErrClaimed) || !strings.Contains(err.Error(), "already holds 1 files or directories (summary.md") {
		t.Errorf("claiming a directory with results = %v, want ErrClaimed naming what it holds", err)
	}

	dir := filepath.Join(base, "a", "b")
	release, err := ClaimDir(dir, "svccheck (pid 1)")
	if err != nil {
		t.Fatalf("claiming a new directory: %v", err)
	}
	if _, err := ClaimDir(dir, "other"); !errors.Is(err, ErrClaimed) || !strings.Contains(err.Error(), "claimed by svccheck (pid 1)") {
		t.Errorf("claiming a claimed directory = %v, want ErrClaimed naming the owner", err)
	}
	release()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("release of an unused new directory left it (stat: %v)", err)
	}

	release, err = ClaimDir(dir, "svccheck (pid 2)")
	if err != nil {
		t.Fatalf("claiming the released directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileJUnit), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := ClaimDir(dir, "other"); !errors.Is(err, ErrClaimed) || !strings.Contains(err.Error(), "claimed by svccheck (pid 2)") {
		t.Errorf("claiming a directory with results after release = %v, want it still claimed", err)
	}
}

// atomicWriterEnv makes TestAtomicWriterChild act as a writer that is
// killed half way through a file.
const atomicWriterEnv = "SVCCHECK_REPORTS_ATOMIC_WRITER"

// TestAtomicWriterChild writes half of a report into the path in
// atomicWriterEnv, says so on stdout and waits to be killed.
func TestAtomicWriterChild(t *testing.T) {
	path := os.Getenv(atomicWriterEnv)
	if path == "" {
		t.Skip("run by TestWriteFileAtomicKilled")
	}
	_ = WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		if _, err := w.Write(bytes.Repeat([]byte("<testcase/>\n"), 10000)); err != nil {
			return err
		}
		fmt.Println("half written")
		select {} // killed here
	})
}

// TestWriteFileAtomicKilled kills a writer half way through a report: the
// report is then absent (or the earlier one intact), never truncated.
func TestWriteFileAtomicKilled(t *testing.T) {
	for _, earlier := range []string{"", "<testsuites>the earlier complete report</testsuites>\n"} {
		t.Run(fmt.Sprintf("earlier=%t", earlier != ""), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileJUnit)
			if earlier != "" {
				if err := os.WriteFile(path, []byte(earlier), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestAtomicWriterChild$")
			cmd.Env = append(os.Environ(), atomicWriterEnv+"="+path)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "half written\n" {
				_ = cmd.Process.Kill()
				t.Fatalf("the writer said %q (%v), want it half way", line, err)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			got, err := os.ReadFile(path)
			switch {
			case earlier == "" && !os.IsNotExist(err):
				t.Errorf("after the writer was killed %s holds %d bytes (err %v), want no file", FileJUnit, len(got), err)
			case earlier != "" && string(got) != earlier:
				t.Errorf("after the writer was killed %s holds %d bytes, want the earlier report intact", FileJUnit, len(got))
			}
		})
	}
}
