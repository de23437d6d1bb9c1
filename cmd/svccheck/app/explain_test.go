package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/svccheck/svccheck/explain"
)

const explainDump = "../../../explain/testdata/shared"

func TestExplainCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "pod", "svcchk-explain/client", "--dump", explainDump}, "--to IP:PORT[/proto] is required"},
		{[]string{"--to", "10.96.0.1", "--from", "pod", "svcchk-explain/client", "--dump", explainDump}, "want IP:PORT"},
		{[]string{"--to", "10.96.0.1:80", "--from", "vm", "x", "--dump", explainDump}, "--from must be"},
		{[]string{"--to", "10.96.0.1:80", "--from", "pod", "client", "--dump", explainDump}, "NAMESPACE/NAME"},
		{[]string{"--to", "10.96.0.1:80", "--from", "external", "1.2.3.4", "--dump", explainDump}, "wants --node"},
		{[]string{"--to", "10.96.0.1:80", "--from", "node", "nope", "--dump", explainDump}, `holds no node "nope" (nodes: svcchk-shared-worker, svcchk-shared-worker2)`},
		{[]string{"--to", "10.96.0.1:80", "--from", "pod", "svcchk-explain/nope", "--dump", explainDump}, "no pod svcchk-explain/nope"},
		{[]string{"--to", "10.96.0.1:80", "--from", "node", "n", "--dump", explainDump, "--name", "x"}, "exactly one of"},
		{[]string{"--to", "10.96.0.1:80", "--from", "node", "n", "--dump", "/nonexistent"}, "--dump /nonexistent"},
		{[]string{"--to", "10.96.0.1:80", "--from", "node", "n", "--dump", explainDump, "--live"}, "--live probes a running cluster"},
	} {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append([]string{"explain"}, tc.args...), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) || ExitCode(err) != ExitUsage {
			t.Errorf("explain %v: error %v (exit %d), want exit 2 and one containing %q", tc.args, err, ExitCode(err), tc.want)
		}
	}
}

func TestExplainCommandJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"explain", "--to", "10.96.170.223:80", "--from", "pod svcchk-explain/client",
		"--dump", explainDump, "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, errOut.String())
	}
	var ex explain.Explanation
	if err := json.Unmarshal(out.Bytes(), &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Outcome != explain.OutcomeRejected || ex.Node != "svcchk-shared-worker" || len(ex.Services) != 1 {
		t.Errorf("explanation = %+v, want REJECT on svcchk-shared-worker naming one Service port", ex)
	}
}
