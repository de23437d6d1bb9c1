package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileClaim is the file, in an output directory, that says which svccheck
// process claimed it (ClaimDir). It stays after the run, so a later run refuses the
// directory too.
const FileClaim = ".svccheck-claim"

// ErrClaimed is returned by ClaimDir for a directory another run holds or
// that holds files already.
var ErrClaimed = errors.New("output directory in use")

// ClaimDir claims dir as one run's output directory, atomically: it creates
// dir (and its parents) if missing, refuses it if it holds anything, and
// then creates FileClaim in it with O_EXCL, writing owner into it. Of two
// runs claiming one directory at once, exactly one succeeds: the other
// gets ErrClaimed, naming the owner of the claim.
//
// release, called when the run ends, gives back a directory the run wrote
// nothing into: it removes the claim, and the directory if ClaimDir made
// it. A directory holding results keeps its claim.
func ClaimDir(dir, owner string) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return nil, fmt.Errorf("creating the parent of %s: %w", dir, err)
	}
	made := true
	if err := os.Mkdir(dir, 0o755); errors.Is(err, fs.ErrExist) {
		made = false
	} else if err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return nil, claimedError(dir, entries)
	}
	claim := filepath.Join(dir, FileClaim)
	f, err := os.OpenFile(claim, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, claimedError(dir, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("claiming %s: %w", dir, err)
	}
	_, werr := fmt.Fprintln(f, owner)
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, fmt.Errorf("writing %s: %w", claim, err)
	}
	return func() {
		if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
			return
		}
		if os.Remove(claim) == nil && made {
			_ = os.Remove(dir)
		}
	}, nil
}

// claimedError says why dir cannot be claimed: its claim's owner, or what
// it holds.
func claimedError(dir string, entries []fs.DirEntry) error {
	if owner, err := os.ReadFile(filepath.Join(dir, FileClaim)); err == nil && len(bytes.TrimSpace(owner)) > 0 {
		return fmt.Errorf("%w: %s was claimed by %s", ErrClaimed, dir, strings.TrimSpace(string(owner)))
	}
	if len(entries) == 0 {
		return fmt.Errorf("%w: %s was claimed by another run", ErrClaimed, dir)
	}
	return fmt.Errorf("%w: %s already holds %d files or directories (%s, ...)", ErrClaimed, dir, len(entries), entries[0].Name())
}

// WriteFileAtomic writes path with what write writes, through a temporary
// file in the same directory renamed over path once complete: a process
// killed while writing leaves the earlier path (or none), never a
// truncated one. Only a temporary file named .<name>.tmp-* may remain.
func WriteFileAtomic(path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteBytesAtomic is WriteFileAtomic of data.
func WriteBytesAtomic(path string, data []byte, perm fs.FileMode) error {
	return WriteFileAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
