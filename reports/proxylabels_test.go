package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/svccheck/svccheck/proxy"
)

// TestProxyLabelsRoundTrip writes the proxy under test into a report.json's
// suite labels and reads it back; a report.json without them reads as no
// proxy.
func TestProxyLabelsRoundTrip(t *testing.T) {
	for _, p := range []proxy.Proxy{
		{Mode: proxy.Svccheck, Broken: []string{"affinity", "reject"}},
		{Mode: proxy.KubeProxyNFTables},
		{Mode: proxy.Unknown},
	} {
		report := types.Report{SuiteDescription: "svccheck", SuiteLabels: append([]string{"svccheck.io/run-id=r1"}, ProxyLabels(p)...)}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, report); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), FileJSON)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := ReadGinkgoJSON(path)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := ProxyFromLabels(back.SuiteLabels)
		if diff := cmp.Diff(p, got); !ok || diff != "" {
			t.Errorf("ProxyFromLabels(%q) ok %v (-want +got):\n%s", back.SuiteLabels, ok, diff)
		}
	}
	if p, ok := ProxyFromLabels([]string{"svccheck.io/run-id=r1"}); ok || p.Mode != "" {
		t.Errorf("ProxyFromLabels of an old report = %+v, %v; want nothing", p, ok)
	}
}
