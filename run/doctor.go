package run

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/svccheck/svccheck/doctor"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
)

// doctorAfterRun runs doctor on a run's output directory after the node
// dumps: it dumps the namespaces the run did not (doctor compares every
// Service with the rules) and, for a kind cluster, the host's Docker
// networks (a cluster reached through its kubeconfig is not Docker's, and
// the host may have no Docker), writes doctor.json and appends doctor's
// section to summary.md. Doctor's findings
// do not change the run's exit status; what fails is printed as a warning.
// It returns the findings for report.html, and whether doctor ran.
func doctorAfterRun(ctx context.Context, collector *diag.Collector, kind bool, outDir string, stderr io.Writer) ([]reports.Finding, bool) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	if err := doctorExtras(dctx, collector, kind, outDir); err != nil {
		fmt.Fprintf(stderr, "warning: doctor's dumps incomplete: %v\n", err)
	}
	d, err := doctor.Load(outDir)
	if err != nil {
		fmt.Fprintf(stderr, "warning: doctor: %v\n", err)
		return nil, false
	}
	rep := doctor.Run(d)
	if err := writeDoctorFiles(outDir, rep); err != nil {
		fmt.Fprintf(stderr, "warning: doctor: %v\n", err)
	}
	fmt.Fprintf(stderr, "doctor: %s (see %s)\n", rep.Summary(), filepath.Join(outDir, reports.FileDoctor))
	return htmlFindings(rep), true
}

// htmlFindings turns doctor's findings into report.html's.
func htmlFindings(rep doctor.Report) []reports.Finding {
	out := make([]reports.Finding, 0, len(rep.Findings))
	for _, f := range rep.Findings {
		title := f.Message
		if f.Node != "" {
			title = f.Node + ": " + title
		}
		out = append(out, reports.Finding{ID: f.ID, Severity: string(f.Severity), Title: title,
			Evidence: strings.Join(f.Evidence, "\n"), Advice: f.Action})
	}
	return out
}

func doctorExtras(ctx context.Context, collector *diag.Collector, kind bool, outDir string) error {
	if kind {
		if err := WriteDockerNetworks(ctx, outDir); err != nil {
			return err
		}
	}
	if collector.Clientset == nil {
		return nil
	}
	namespaces, settled, err := listNamespaces(ctx, collector.Clientset, diag.DefaultCommandTimeout)
	if err != nil {
		return err
	}
	// Each spec's namespace was dumped as the spec ended and is gone from
	// the nodes' final rules, or going: doctor is to judge the rules
	// against the namespaces that are there and not being deleted.
	live := filepath.Join(outDir, reports.DirCluster, doctor.FileLiveNamespaces)
	if err := os.MkdirAll(filepath.Dir(live), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", doctor.FileLiveNamespaces, err)
	}
	if err := reports.WriteBytesAtomic(live, []byte(strings.Join(settled, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", doctor.FileLiveNamespaces, err)
	}
	for _, ns := range namespaces {
		if ns == cluster.ProxyNamespace {
			continue // dumpAfterRun has it
		}
		if err := collector.CollectNamespace(ctx, ns, outDir); err != nil {
			return err
		}
	}
	return nil
}

// writeDoctorFiles writes doctor.json and appends to summary.md.
func writeDoctorFiles(outDir string, rep doctor.Report) error {
	f, err := os.Create(filepath.Join(outDir, reports.FileDoctor))
	if err != nil {
		return fmt.Errorf("writing %s: %w", reports.FileDoctor, err)
	}
	if err := doctor.WriteJSON(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", reports.FileDoctor, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", reports.FileDoctor, err)
	}
	s, err := os.OpenFile(filepath.Join(outDir, reports.FileSummary), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("adding doctor's findings to %s: %w", reports.FileSummary, err)
	}
	_, err = io.WriteString(s, "\n")
	if err == nil {
		err = doctor.WriteMarkdown(s, rep)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("adding doctor's findings to %s: %w", reports.FileSummary, err)
	}
	return nil
}
