package runner

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
)

// ErrAlreadyRan is returned by Run when the specs already ran in this process.
var ErrAlreadyRan = errors.New("the specs already ran in this process (Ginkgo allows one run per process)")

// Options configures a run.
type Options struct {
	// Description names the suite in reports.
	Description string
	// LabelFilter is a Ginkgo label filter expression, e.g. "ClusterIP && !Slow".
	LabelFilter string
	// Focus keeps only specs whose full text matches one of these regular
	// expressions.
	Focus []string
	// Skip drops specs whose full text matches one of these regular expressions.
	Skip []string
	// Timeout bounds the whole run; zero means one hour.
	Timeout time.Duration
	// Verbose streams each spec's GinkgoWriter output and steps.
	Verbose bool
	// Progress receives one line when each spec starts and ends, and a
	// heartbeat line while a spec runs long. Nil discards progress.
	Progress io.Writer
	// Heartbeat is the interval of the heartbeat lines; zero means 30s.
	Heartbeat time.Duration
	// DryRun walks the specs without running them (each is reported passed
	// without running its body): for listing specs and checking filters.
	DryRun bool
}

// Config turns o into Ginkgo's suite and reporter configuration.
func (o Options) Config() (types.SuiteConfig, types.ReporterConfig) {
	sc := types.NewDefaultSuiteConfig()
	sc.LabelFilter = o.LabelFilter
	sc.FocusStrings = append([]string(nil), o.Focus...)
	sc.SkipStrings = append([]string(nil), o.Skip...)
	if o.Timeout > 0 {
		sc.Timeout = o.Timeout
	}
	sc.DryRun = o.DryRun
	rc := types.NewDefaultReporterConfig()
	rc.NoColor = true
	if o.Verbose {
		rc.Verbose = true
	} else {
		rc.Succinct = true
	}
	return sc, rc
}

var (
	mu       sync.Mutex
	ran      bool
	captured *types.Report
	progress *tracker
)

// Capture the report and drive the progress lines. These nodes are part of
// every suite linked with this package.
var (
	_ = ginkgo.ReportBeforeSuite(func(r ginkgo.Report) {
		if p := current(); p != nil {
			p.suiteStart(r)
		}
	})
	_ = ginkgo.ReportBeforeEach(func(r ginkgo.SpecReport) {
		if p := current(); p != nil {
			p.specStart(r)
		}
	})
	_ = ginkgo.ReportAfterEach(func(r ginkgo.SpecReport) {
		if p := current(); p != nil {
			p.specEnd(r)
		}
	})
	_ = ginkgo.ReportAfterSuite("svccheck report", func(r ginkgo.Report) {
		mu.Lock()
		defer mu.Unlock()
		captured = &r
	})
)

func current() *tracker {
	mu.Lock()
	defer mu.Unlock()
	return progress
}

// testingT is the GinkgoTestingT of an in-process run: it records failure.
type testingT struct{ failed bool }

func (t *testingT) Fail() { t.failed = true }

// Run runs the linked specs once and returns Ginkgo's report. passed is
// false when a spec failed or the run was interrupted. Run can be called
// once per process; later calls return ErrAlreadyRan. Ginkgo's own reporter
// writes to the process's standard output.
func Run(o Options) (report types.Report, passed bool, err error) {
	mu.Lock()
	if ran {
		mu.Unlock()
		return types.Report{}, false, ErrAlreadyRan
	}
	ran = true
	if o.Progress != nil {
		progress = newTracker(o.Progress, o.Heartbeat)
	}
	mu.Unlock()
	defer func() {
		if p := current(); p != nil {
			p.stop()
		}
	}()

	gomega.RegisterFailHandler(ginkgo.Fail)
	sc, rc := o.Config()
	desc := o.Description
	if desc == "" {
		desc = "svccheck"
	}
	t := &testingT{}
	passed = ginkgo.RunSpecs(t, desc, sc, rc)

	mu.Lock()
	defer mu.Unlock()
	if captured == nil {
		return types.Report{}, false, fmt.Errorf("running the specs: no report was produced")
	}
	return *captured, passed && !t.failed, nil
}
