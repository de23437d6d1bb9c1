package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/svccheck/svccheck/doctor"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
)

// doctorOptions are the flags of `svccheck doctor`.
type doctorOptions struct {
	name       string
	kubeconfig string
	dump       string
	output     string
	json       bool
	timeout    time.Duration
	image      string
}

func newDoctorCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Diagnose a cluster's Service proxying and its nodes",
		Long: `doctor checks a cluster and its nodes and prints findings, each with a
stable ID (SVC001...), a severity (error, warning, info), the evidence (the
dump file and line, or the object) and what to do: overlapping pod, Service,
node and Docker network ranges, the NodePort range against
ip_local_port_range, rules split between iptables backends, another proxy's
chains left behind, Service ports whose rules disagree with the API, health
check node ports that disagree with their local endpoints, an unhealthy
proxy, and node settings (conntrack, ip_forward, br_netfilter, rp_filter,
route_localnet).

--dump DIR checks a dump offline (svccheck dump, or a run's output
directory). --name (a kind cluster) and --kubeconfig (any cluster, through
host pods as 'svccheck dump' does) take a dump of every namespace first, into
--output or a temporary directory.

Exit status: 0 with no warning or error, 1 with any, 2 for bad input.`,
		Example: `  svccheck doctor --name svcchk-1
  svccheck doctor --dump ./svccheck-results/20261203-140000 --json
  svccheck doctor --kubeconfig ~/.kube/config --output ./doctor-dump`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			return runDoctor(cmd.Context(), o, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.name, "name", cluster.DefaultName, "kind cluster to check")
	fl.StringVar(&o.kubeconfig, "kubeconfig", "", "check the cluster of this kubeconfig (any cluster) through host pods")
	fl.StringVar(&o.dump, "dump", "", "check this dump directory offline instead of a cluster")
	fl.StringVar(&o.output, "output", "", "with --name or --kubeconfig: keep the dump in this new directory (default: a temporary one, removed)")
	fl.BoolVar(&o.json, "json", false, "print the findings as JSON")
	fl.DurationVar(&o.timeout, "timeout", diag.DefaultCommandTimeout, "time limit of each command on a node and each API read")
	fl.StringVar(&o.image, "image", "", "with --kubeconfig: the svccheck image the host pods run")
	return cmd
}

func (o *doctorOptions) validate(cmd *cobra.Command) error {
	sources := 0
	for _, f := range []string{"name", "kubeconfig", "dump"} {
		if cmd.Flags().Changed(f) {
			sources++
		}
	}
	if sources > 1 {
		return usageError("--name, --kubeconfig and --dump exclude each other")
	}
	if o.dump != "" && (o.output != "" || o.image != "") {
		return usageError("--output and --image apply to a live cluster, not with --dump")
	}
	if o.output != "" {
		if err := checkOutputFree(o.output); err != nil {
			return err
		}
	}
	if o.timeout <= 0 {
		return usageError("--timeout must be positive, got %s", o.timeout)
	}
	return nil
}

// runDoctor takes a dump unless given one, checks it and prints the report.
func runDoctor(ctx context.Context, o *doctorOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	dir := o.dump
	if dir == "" {
		var cleanup func()
		var err error
		dir, cleanup, err = doctorDump(ctx, o, stderr)
		if cleanup != nil {
			defer cleanup()
		}
		if err != nil {
			return err
		}
	}
	d, err := doctor.Load(dir)
	if err != nil {
		return usageError("%v", err)
	}
	rep := doctor.Run(d)
	if o.json {
		err = doctor.WriteJSON(stdout, rep)
	} else {
		err = doctor.WriteText(stdout, rep)
	}
	if err != nil {
		return fmt.Errorf("writing the findings: %w", err)
	}
	fmt.Fprintf(stderr, "doctor took %s\n", time.Since(start).Round(100*time.Millisecond))
	if rep.Failed() {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("doctor: %s", rep.Summary())}
	}
	return nil
}

// doctorDump dumps the live cluster into o.output or a temporary directory.
func doctorDump(ctx context.Context, o *doctorOptions, stderr io.Writer) (dir string, cleanup func(), err error) {
	dir = o.output
	if dir == "" {
		if dir, err = os.MkdirTemp("", "svccheck-doctor-"); err != nil {
			return "", nil, usageError("creating a temporary directory: %v", err)
		}
		cleanup = func() { _ = os.RemoveAll(dir) }
	} else {
		release, err := claimOutput(dir)
		if err != nil {
			return "", nil, err
		}
		cleanup = release
	}
	do := &dumpOptions{name: o.name, kubeconfig: o.kubeconfig, output: dir, timeout: o.timeout,
		parallel: diag.DefaultParallelism, image: o.image, hostPodWait: 2 * time.Minute,
		hostPodLife: diag.DefaultHostPodLifetime, allNamespaces: true}
	if o.kubeconfig != "" {
		err = dumpWithHostPods(ctx, do, stderr)
	} else {
		netErr := make(chan error, 1)
		go func() { netErr <- writeDockerNetworks(ctx, dir) }()
		err = dumpKind(ctx, do, stderr)
		if nerr := <-netErr; err == nil {
			err = nerr
		}
	}
	return dir, cleanup, err
}
