package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/svccheck/svccheck/proxy"
)

// htmlFixture is the fixture run's report.html input, reading the node
// dumps under testdata/html (real dumps of a kind cluster).
func htmlFixture(t *testing.T) HTMLReport {
	t.Helper()
	r := HTMLReport{
		Results:   FromGinkgo(fixtureReport(), fixtureMeta),
		Findings:  []Finding{{ID: "SVC-T01", Severity: "error", Title: "ip_forward is off", Evidence: "nodes/kind-worker/sysctl.txt:3", Advice: "sysctl -w net.ipv4.ip_forward=1"}},
		DoctorRan: true,
		Traces:    map[string]string{},
	}
	for _, s := range r.Results.Specs {
		if s.Result.Failed() {
			r.Traces[s.Slug()] = "trace of " + s.Text
		}
	}
	if err := r.ReadHTMLDumps("testdata/html"); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHTMLSelfContainedAndLinked(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, htmlFixture(t)); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	var hrefs []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch a.Key {
				case "id":
					if ids[a.Val] {
						t.Errorf("id %q is used twice", a.Val)
					}
					ids[a.Val] = true
				case "href":
					hrefs = append(hrefs, a.Val)
				case "src":
					t.Errorf("<%s src=%q>: the page must load nothing", n.Data, a.Val)
				}
			}
			if n.Data == "link" {
				t.Errorf("<link> element: the page must load nothing")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	var internal int
	for _, h := range hrefs {
		switch {
		case strings.HasPrefix(h, "#"):
			internal++
			if !ids[h[1:]] {
				t.Errorf("link %s leads nowhere on the page", h)
			}
		case strings.Contains(h, "://") || strings.HasPrefix(h, "//"):
			t.Errorf("link %s leaves the output directory", h)
		default:
			if _, err := os.Stat(filepath.Join("testdata/html", h)); err != nil {
				t.Errorf("link %s: %v", h, err)
			}
		}
	}
	if internal < 20 {
		t.Errorf("only %d links within the page; want the failures and every Service's chains linked", internal)
	}
	if regexp.MustCompile(`(?i)https?://`).Match(buf.Bytes()) {
		t.Errorf("the page names a web address; it must be self-contained")
	}
}

func TestHTMLShowsRunFailuresFindingsAndChains(t *testing.T) {
	r := htmlFixture(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"FAILED",
		"sticks to one backend with ClientIP | pipes",
		"Expected\n    &lt;int&gt;: 3",
		"trace of sticks to one backend with ClientIP | pipes",
		"SVC-T01", "ip_forward is off",
		`id="fail.affinity-sticks-to-one-backend-with-clientip-pipes"`,
		"-A SVCCHK-SERVICES",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	var svcChains int
	for _, nt := range r.Nodes {
		for _, tb := range nt.Tables {
			svcChains += len(tb.Services)
		}
	}
	if svcChains == 0 {
		t.Fatal("no Service grouped in the fixture's tables")
	}
}

func TestParseTablesGroupsServiceChains(t *testing.T) {
	save := `*nat
:PREROUTING ACCEPT [0:0]
:SVCCHK-SERVICES - [0:0]
:SVCCHK-SVC-AAA - [0:0]
:SVCCHK-SEP-BBB - [0:0]
[1:60] -A PREROUTING -m comment --comment "svccheck service portals" -j SVCCHK-SERVICES
-A SVCCHK-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns/web:http cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-AAA
-A SVCCHK-SERVICES -d 10.96.0.11/32 -p tcp -m comment --comment "ns/other:http cluster IP" -m tcp --dport 80 -j SVCCHK-SVC-CCC
-A SVCCHK-SVC-AAA -m comment --comment "ns/web:http -> 10.244.1.2:8080" -j SVCCHK-SEP-BBB
-A SVCCHK-SEP-BBB -p tcp -m comment --comment ns/web:http -m tcp -j DNAT --to-destination 10.244.1.2:8080
COMMIT
`
	tables := ParseTables([]byte(save), "nodes/n/iptables-nat.txt")
	if len(tables) != 1 || tables[0].Name != "nat" {
		t.Fatalf("tables = %+v", tables)
	}
	tb := tables[0]
	if len(tb.Services) != 1 || tb.Services[0].Service != "ns/web:http" || strings.Join(tb.Services[0].Chains, ",") != "SVCCHK-SVC-AAA,SVCCHK-SEP-BBB" {
		t.Errorf("services = %+v, want ns/web:http in SVCCHK-SVC-AAA and SVCCHK-SEP-BBB (the dispatch chain belongs to none)", tb.Services)
	}
	pre := tb.Chains[0]
	if pre.Rules[0].Line != 6 || pre.Rules[0].Counters != "[1:60]" || pre.Rules[0].Jump != "SVCCHK-SERVICES" {
		t.Errorf("PREROUTING rule = %+v", pre.Rules[0])
	}
	if !tb.HasChain("SVCCHK-SEP-BBB") || tb.HasChain("SVCCHK-SVC-CCC") {
		t.Errorf("HasChain wrong")
	}
}

func TestHTMLComparison(t *testing.T) {
	a := FromGinkgo(fixtureReport(), fixtureMeta)
	bMeta := fixtureMeta
	bMeta.Proxy = proxy.Proxy{Mode: proxy.KubeProxy}
	b := FromGinkgo(fixtureReport(), bMeta)
	b.Specs[0].Result = ResultFailed
	c := Compare(a, b)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, HTMLReport{Title: "svccheck comparison", Comparison: &c, Runs: map[string]string{"kube-proxy": "kube-proxy/report.html"}}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"1 of 6 specs differ", `<a href="kube-proxy/report.html">kube-proxy</a>`, `<tr class="differs">`, "DIFFERS"} {
		if !strings.Contains(page, want) {
			t.Errorf("comparison page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="specs"`) {
		t.Error("the comparison page shows a results table of its own")
	}
}
