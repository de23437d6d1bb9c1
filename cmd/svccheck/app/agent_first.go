package app

import (
	"encoding/json"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/svccheck/svccheck/suites/agent"
)

// newAgentProbeFirstCommand is `svccheck agent probe-first`: the batch
// prober of the Scale specs, reading its targets from stdin.
func newAgentProbeFirstCommand(stdout io.Writer) *cobra.Command {
	var (
		opts     agent.FirstOptions
		protocol string
	)
	cmd := &cobra.Command{
		Use:   "probe-first",
		Short: "Probe many targets until each first answers, and print when",
		Long: `Read targets from stdin, one a line as "host:port" or "host:port want",
probe each again every --interval from the moment it is read until it first
answers (by a hostname starting with want, when given), and print a JSON line
{"target","hostname","at","attempts"} then, at being Unix nanoseconds. Ends
when stdin is closed and every target answered, or after --budget; targets
that never answered are not printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := agent.ParseProtocol(protocol)
			if err != nil {
				return usageError("--protocol: %v", err)
			}
			opts.Protocol = p
			enc := json.NewEncoder(stdout)
			var werr error
			err = agent.ProbeFirst(cmd.Context(), opts, agent.ReadTargets(cmd.InOrStdin()), func(a agent.FirstAnswer) {
				if werr == nil {
					werr = enc.Encode(a)
				}
			})
			if err != nil {
				return usageError("%v", err)
			}
			return werr
		},
	}
	f := cmd.Flags()
	f.StringVar(&protocol, "protocol", "http", "tcp (connect only), udp or http")
	f.DurationVar(&opts.Timeout, "timeout", time.Second, "timeout of each attempt")
	f.DurationVar(&opts.Interval, "interval", 250*time.Millisecond, "time between two attempts at one target")
	f.DurationVar(&opts.Budget, "budget", 5*time.Minute, "time limit of the whole run")
	f.IntVar(&opts.Parallel, "parallel", 64, "attempts in flight at most")
	return cmd
}
