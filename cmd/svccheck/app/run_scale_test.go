package app

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScaleFlagChecks(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []*runOptions{
		{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, scale: -1, output: filepath.Join(dir, "a")},
		{proxy: "svccheck", parallel: 2, timeout: time.Minute, workers: 2, scale: 10, output: filepath.Join(dir, "b")},
	} {
		if err := o.complete(time.Now()); err == nil || !strings.Contains(err.Error(), "--scale") {
			t.Errorf("complete(--scale %d --parallel %d) = %v, want a --scale usage error", o.scale, o.parallel, err)
		}
	}
	o := &runOptions{proxy: "svccheck", parallel: 1, timeout: time.Minute, workers: 2, scale: 10, compare: true, output: filepath.Join(dir, "c")}
	if err := o.complete(time.Now()); err != nil {
		t.Fatal(err)
	}
	lo := o.library(nil)
	if lo.Scale != 10 {
		t.Errorf("--compare --scale 10 gives the run library Scale %d", lo.Scale)
	}
}
