package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/svccheck/svccheck/suites/agent"
)

// newAgentDNSCommand is `svccheck agent dns`: it resolves a name with the
// cluster DNS from inside a pod, for the headless Service specs.
func newAgentDNSCommand(stdout io.Writer) *cobra.Command {
	var (
		name    string
		typ     string
		timeout time.Duration
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Resolve a name to its A, SRV or CNAME records and report them",
		Long: `Resolve --name with the resolver of the system (in a pod: the cluster DNS)
and print its records of --type: A (addresses), SRV (targets and ports; the
name carries its own _service._proto labels) or CNAME (the canonical name and
its addresses). A name without a trailing dot goes through the search path of
/etc/resolv.conf, so "web" and "web.ns" resolve in a pod as they would for
any program. Exits 0 even when the name does not resolve; the report says
what happened.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return usageError("--name is required")
			}
			t, err := agent.ParseRecordType(typ)
			if err != nil {
				return usageError("--type: %v", err)
			}
			rep, err := agent.Lookup(cmd.Context(), net.DefaultResolver, name, t, timeout)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(stdout).Encode(rep)
			}
			if rep.Error != "" {
				fmt.Fprintf(stdout, "%s: %s\n", rep.Name, rep.Error)
				return nil
			}
			writeDNSText(stdout, rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name to resolve")
	cmd.Flags().StringVar(&typ, "type", "A", "record type: A, SRV or CNAME")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "timeout of the lookup")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// writeDNSText prints the records of rep on one line.
func writeDNSText(w io.Writer, rep agent.DNSReport) {
	var parts []string
	if rep.CNAME != "" {
		parts = append(parts, "cname="+rep.CNAME)
	}
	for _, s := range rep.SRV {
		parts = append(parts, fmt.Sprintf("srv=%s:%d", s.Target, s.Port))
	}
	parts = append(parts, rep.Addresses...)
	fmt.Fprintf(w, "%s: %s\n", rep.Name, strings.Join(parts, " "))
}
