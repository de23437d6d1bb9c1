package app

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/svccheck/svccheck/suites/agent"
)

// newAgentCommand is `svccheck agent`, the test workload run in pods and on
// nodes.
func newAgentCommand(stdout, _ io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Test workload: an echo server (serve) and a prober (probe)",
	}
	cmd.AddCommand(newAgentServeCommand(), newAgentProbeCommand(stdout), newAgentProbeFirstCommand(stdout), newAgentHoldCommand(stdout), newAgentDNSCommand(stdout))
	return cmd
}

func newAgentServeCommand() *cobra.Command {
	var (
		httpPort, udpPort, oowPort int
		hostname                   string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve HTTP (/hostname, /clientip, /echo, /healthz) and UDP echo",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if httpPort < 1 || httpPort > 65535 || udpPort < 0 || udpPort > 65535 || oowPort < 0 || oowPort > 65535 {
				return usageError("--http-port must be 1..65535, --udp-port and --out-of-window-port 0..65535")
			}
			host := hostname
			if host == "" {
				h, err := os.Hostname()
				if err != nil {
					return fmt.Errorf("reading the hostname: %w", err)
				}
				host = h
			}
			cfg := agent.ServerConfig{Hostname: host, HTTPAddr: agent.JoinPort(httpPort)}
			if udpPort != 0 {
				cfg.UDPAddr = agent.JoinPort(udpPort)
			}
			if oowPort == 0 {
				return agent.Serve(cmd.Context(), cfg)
			}
			g, ctx := errgroup.WithContext(cmd.Context())
			g.Go(func() error { return agent.Serve(ctx, cfg) })
			g.Go(func() error { return agent.ServeOutOfWindow(ctx, host, oowPort, cmd.OutOrStdout()) })
			return g.Wait()
		},
	}
	cmd.Flags().IntVar(&httpPort, "http-port", 8080, "TCP port of the HTTP server")
	cmd.Flags().IntVar(&udpPort, "udp-port", 8081, "UDP port of the UDP echo server (0: none)")
	cmd.Flags().StringVar(&hostname, "hostname", "", "name to answer with (default: the system's hostname)")
	cmd.Flags().IntVar(&oowPort, "out-of-window-port", 0, "also serve HTTP on this TCP port and send each of its clients, once connected, "+
		"a segment far outside the connection's window from a raw socket (needs CAP_NET_RAW; 0: none)")
	return cmd
}

func newAgentProbeCommand(stdout io.Writer) *cobra.Command {
	var (
		opts     agent.ProbeOptions
		protocol string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Dial a target and report who answered, or how each attempt failed",
		Long: `Dial --target --count times, each on a new connection, and report per attempt
who answered (the agent's hostname and the client address it saw) or the
failure: refused, timeout or other. Exits 0 even when attempts fail; the
report says what happened.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := agent.ParseProtocol(protocol)
			if err != nil {
				return usageError("--protocol: %v", err)
			}
			opts.Protocol = p
			if opts.Target == "" {
				return usageError("--target host:port is required")
			}
			if opts.Count < 1 || opts.SourcePort < 0 || opts.SourcePort > 65535 {
				return usageError("--count must be at least 1 and --source-port 0..65535")
			}
			rep, err := agent.Probe(cmd.Context(), opts)
			if err != nil {
				return usageError("%v", err)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				return enc.Encode(rep)
			}
			writeProbeText(stdout, rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Target, "target", "", "host:port to dial")
	f.StringVar(&protocol, "protocol", "http", "tcp (connect only), udp or http")
	f.IntVar(&opts.Count, "count", 1, "number of attempts")
	f.DurationVar(&opts.Timeout, "timeout", 2*time.Second, "timeout of each attempt")
	f.IntVar(&opts.SourcePort, "source-port", 0, "local port to dial from (0: any)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func newAgentHoldCommand(stdout io.Writer) *cobra.Command {
	var opts agent.HoldOptions
	cmd := &cobra.Command{
		Use:   "hold",
		Short: "Hold one TCP connection to an agent and exchange over it until stopped",
		Long: `Dial --target once and send GET /echo over that one connection every
--interval, printing one JSON line per exchange (sequence number, time, local
address, who answered, how long it took). The first failed exchange is
printed and ends the command with an error: the connection is never
redialled, so the lines show how long it lived.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Target == "" {
				return usageError("--target host:port is required")
			}
			if opts.Interval < time.Millisecond || opts.Timeout <= 0 {
				return usageError("--interval must be at least 1ms and --timeout positive")
			}
			return agent.Hold(cmd.Context(), opts, stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Target, "target", "", "host:port of an agent's HTTP server")
	f.DurationVar(&opts.Interval, "interval", time.Second, "pause between exchanges")
	f.DurationVar(&opts.Timeout, "timeout", 2*time.Second, "timeout of the dial and of each exchange")
	f.DurationVar(&opts.For, "for", 0, "stop after this long without a failure, exit status 0 (0: until stopped)")
	return cmd
}

// writeProbeText prints one line per attempt.
func writeProbeText(w io.Writer, rep agent.Report) {
	for _, a := range rep.Attempts {
		var b strings.Builder
		fmt.Fprintf(&b, "%d %s %s ", a.Seq, rep.Protocol, rep.Target)
		if a.OK {
			fmt.Fprintf(&b, "ok hostname=%s client=%s", a.Hostname, a.Client)
		} else {
			fmt.Fprintf(&b, "%s: %s", a.ErrorKind, a.Error)
		}
		fmt.Fprintf(&b, " (%.1fms)", a.Millis)
		fmt.Fprintln(w, b.String())
	}
}
