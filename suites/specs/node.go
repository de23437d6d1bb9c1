package specs

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// nodeOutput runs a command on node and returns its standard output; a
// failure carries the command line and its standard error.
func nodeOutput(ctx context.Context, node Node, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := node.Cmder.CommandContext(ctx, name, args...)
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("running %s %s on node %s: %w: %s", name, strings.Join(args, " "), node.Name, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
