package app

import (
	"encoding/json"
	"fmt"
	"io"
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
		timeout time.Duration
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Resolve a name to its A records and report them",
		Long: `Resolve --name with the resolver of the system (in a pod: the cluster DNS)
and print its A records. Exits 0 even when the name does not resolve; the
report says what happened.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return usageError("--name is required")
			}
			rep, err := agent.LookupA(cmd.Context(), name, timeout)
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
			fmt.Fprintf(stdout, "%s: %s\n", rep.Name, strings.Join(rep.Addresses, " "))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name to resolve")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "timeout of the lookup")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
