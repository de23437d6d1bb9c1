package nodeimage

import (
	"context"
	"errors"
	"io"
	"time"

	"sigs.k8s.io/kind/pkg/exec"
)

// builder carries the state of one Ensure call.
type builder struct {
	opts  Options
	cmder exec.Cmder
}

// ensure builds the image unless Docker has it.
func (b *builder) ensure(ctx context.Context) (string, bool, error) {
	tag, err := Tag(b.opts)
	if err != nil {
		return "", false, err
	}
	return tag, false, errors.New("building node images is not implemented yet")
}

// stage runs fn and writes a progress line with its elapsed time.
func stage(w io.Writer, name string, fn func() error) error {
	start := time.Now()
	err := fn()
	status := "done"
	if err != nil {
		status = "failed"
	}
	_, _ = io.WriteString(w, name+": "+status+" in "+time.Since(start).Round(100*time.Millisecond).String()+"\n")
	return err
}
