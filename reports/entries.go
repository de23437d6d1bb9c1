package reports

import (
	"encoding/json"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// Names of the report entries svccheck's specs record with AddReportEntry.
const (
	// NodesEntry names the entry listing the nodes a spec involved (its
	// clients, backends and the nodes it probed), as a Nodes value.
	NodesEntry = "nodes"
	// DumpsEntry names the entry listing the node dumps taken when a spec
	// failed, as a Dumps value of paths relative to the output directory.
	DumpsEntry = "failure-dumps"
)

// Nodes is the value of a NodesEntry: Kubernetes node names. It prints as
// "a, b, c", which is also how it reads back from a JSON report.
type Nodes []string

// String joins the node names with ", ".
func (n Nodes) String() string { return strings.Join(n, ", ") }

// Dumps is the value of a DumpsEntry: directories relative to the output
// directory, such as nodes/kind-worker/failures/<spec-slug>. It prints as
// "a, b, c".
type Dumps []string

// String joins the directories with ", ".
func (d Dumps) String() string { return strings.Join(d, ", ") }

// entryList returns the string list recorded in the last entry named name,
// whether the value is still the Go value (in-process report) or came back
// through JSON (a report.json read back).
func entryList(entries types.ReportEntries, name string) []string {
	var out []string
	for _, e := range entries {
		if e.Name != name {
			continue
		}
		out = valueList(e.Value)
	}
	return out
}

func valueList(v types.ReportEntryValue) []string {
	switch raw := v.GetRawValue().(type) {
	case Nodes:
		return append([]string(nil), raw...)
	case Dumps:
		return append([]string(nil), raw...)
	case []string:
		return append([]string(nil), raw...)
	case string:
		return splitList(raw)
	}
	if v.AsJSON != "" {
		var list []string
		if err := json.Unmarshal([]byte(v.AsJSON), &list); err == nil {
			return list
		}
	}
	if v.GetRawValue() == nil {
		return splitList(v.Representation)
	}
	return splitList(v.String())
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
