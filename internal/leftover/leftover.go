package leftover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"sigs.k8s.io/kind/pkg/exec"
)

// NetNSPrefix starts the name of every network namespace svccheck's tests
// create: svcchk-<pid>-<rest>.
const NetNSPrefix = "svcchk"

// Name returns prefix-<pid of this process>, followed by -rest when rest is
// not empty.
func Name(prefix, rest string) string {
	name := fmt.Sprintf("%s-%d", prefix, os.Getpid())
	if rest != "" {
		name += "-" + rest
	}
	return name
}

// PID returns the process id a name made by Name carries: the digits after
// prefix- up to the next dash or the end. ok is false for any other name.
func PID(name, prefix string) (pid int, ok bool) {
	rest, found := strings.CutPrefix(name, prefix+"-")
	if !found {
		return 0, false
	}
	digits, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != digits {
		return 0, false
	}
	return pid, true
}

// IsLeftOver reports whether name (made by Name with prefix) belongs to a
// process that is gone. ownPID reports names of this process as left over
// too, which is right only before this process created any.
func IsLeftOver(name, prefix string, ownPID bool) bool {
	pid, ok := PID(name, prefix)
	if !ok {
		return false
	}
	if pid == os.Getpid() {
		return ownPID
	}
	return !alive(pid)
}

// alive reports whether process pid exists (signal 0; EPERM means it does).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ReapNetNS deletes the network namespaces named NetNSPrefix-<pid>-... whose
// process is gone, with "ip netns" run by cmder, and returns their names.
// Call it once per process before creating any namespace (ownPID true).
func ReapNetNS(ctx context.Context, cmder exec.Cmder, ownPID bool) ([]string, error) {
	var out bytes.Buffer
	cmd := cmder.CommandContext(ctx, "ip", "netns", "list")
	cmd.SetStdout(&out)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("listing network namespaces: %w", err)
	}
	var reaped []string
	var errs []error
	for _, line := range strings.Split(out.String(), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if !IsLeftOver(name, NetNSPrefix, ownPID) {
			continue
		}
		if err := cmder.CommandContext(ctx, "ip", "netns", "delete", name).Run(); err != nil {
			errs = append(errs, fmt.Errorf("deleting left over network namespace %s: %w", name, err))
			continue
		}
		reaped = append(reaped, name)
	}
	return reaped, errors.Join(errs...)
}

// ReapClusters deletes, with del, the clusters among names that are
// prefix-<pid>[-<rest>] with the process gone (or this process, with
// ownPID), and returns their names.
func ReapClusters(names []string, prefix string, ownPID bool, del func(name string) error) ([]string, error) {
	var reaped []string
	var errs []error
	for _, name := range names {
		if !IsLeftOver(name, prefix, ownPID) {
			continue
		}
		if err := del(name); err != nil {
			errs = append(errs, fmt.Errorf("deleting left over cluster %s: %w", name, err))
			continue
		}
		reaped = append(reaped, name)
	}
	return reaped, errors.Join(errs...)
}

var (
	reapOnce sync.Once
	reapErr  error
)

// ReapNetNSOnce runs ReapNetNS with the local "ip", counting this process's
// own names as left over, the first time it is called in a process. Every
// helper creating a test namespace calls it first.
func ReapNetNSOnce(ctx context.Context) error {
	reapOnce.Do(func() {
		_, reapErr = ReapNetNS(ctx, exec.DefaultCmder, true)
	})
	return reapErr
}
