//go:build e2e

package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/doctor"
)

func init() {
	onSvccheckCluster = append(onSvccheckCluster, clusterCheck{name: "doctor", run: checkDoctor})
}

// nodeBreakage breaks a node (or the host) on purpose in a way doctor
// must find, and repairs it.
type nodeBreakage struct {
	name string
	// want is the finding it must cause: "ID node" ("ID -" for the cluster),
	// with %s for the cluster's name.
	want string
	// evidence returns what the finding's evidence must show, after
	// break_: each string is part of one of its evidence lines.
	evidence func(cluster string) []string
	break_   func(t *testing.T, ctx context.Context, cluster string)
	repair   func(t *testing.T, ctx context.Context, cluster string)
}

// overlapNetwork is the Docker network made inside the cluster's pod range.
const overlapNetwork = "svcchk-doctor-overlap"

func nodeBreakages() []nodeBreakage {
	var flushed, saved string
	return []nodeBreakage{
		{name: "flushed Service chain", want: "SVC012 %s-worker",
			evidence: func(c string) []string {
				return []string{"Service port kube-system/kube-dns:dns (", "nodes/" + c + "-worker/iptables-nat.txt: chain " + flushed + " holds no DNAT rule"}
			},
			break_: func(t *testing.T, ctx context.Context, c string) {
				flushed = svcChain(t, ctx, c+"-worker", "kube-system/kube-dns:dns cluster IP")
				saved = nodeOut(t, ctx, c+"-worker", "iptables-nft-save", "-t", "nat")
				nodeOut(t, ctx, c+"-worker", "iptables-nft", "-t", "nat", "-F", flushed)
			},
			repair: func(t *testing.T, ctx context.Context, c string) {
				var rules []string
				for _, l := range strings.Split(saved, "\n") {
					if strings.HasPrefix(l, "-A "+flushed+" ") {
						rules = append(rules, l)
					}
				}
				in := "*nat\n:" + flushed + " - [0:0]\n" + strings.Join(rules, "\n") + "\nCOMMIT\n"
				nodeIn(t, ctx, c+"-worker", in, "iptables-nft-restore", "--noflush")
			}},
		{name: "rule in the other backend", want: "SVC010 %s-worker2",
			evidence: func(c string) []string {
				return []string{"nodes/" + c + "-worker2/iptables-backend.txt:", ": legacy: 1 rules in nat and filter"}
			},
			break_: func(t *testing.T, ctx context.Context, c string) {
				nodeOut(t, ctx, c+"-worker2", "iptables-legacy", "-t", "filter", "-A", "INPUT", "-s", "192.0.2.1/32", "-j", "DROP")
			},
			repair: func(t *testing.T, ctx context.Context, c string) {
				nodeOut(t, ctx, c+"-worker2", "iptables-legacy", "-t", "filter", "-D", "INPUT", "-s", "192.0.2.1/32", "-j", "DROP")
			}},
		{name: "ip_forward off", want: "SVC031 %s-worker2",
			evidence: func(c string) []string {
				return []string{"nodes/" + c + "-worker2/sysctl.txt:", ": net.ipv4.ip_forward = 0"}
			},
			break_: func(t *testing.T, ctx context.Context, c string) {
				nodeOut(t, ctx, c+"-worker2", "sysctl", "-w", "net.ipv4.ip_forward=0")
			},
			repair: func(t *testing.T, ctx context.Context, c string) {
				nodeOut(t, ctx, c+"-worker2", "sysctl", "-w", "net.ipv4.ip_forward=1")
			}},
		{name: "stale KUBE chains after a swap", want: "SVC011 %s-control-plane",
			evidence: func(c string) []string {
				return []string{"nodes/" + c + "-control-plane/iptables-nat.txt:", ": :KUBE-SVC-DOCTORE2E0000000"}
			},
			break_: func(t *testing.T, ctx context.Context, c string) {
				nodeOut(t, ctx, c+"-control-plane", "iptables-nft", "-t", "nat", "-N", "KUBE-SVC-DOCTORE2E0000000")
			},
			repair: func(t *testing.T, ctx context.Context, c string) {
				nodeOut(t, ctx, c+"-control-plane", "iptables-nft", "-t", "nat", "-X", "KUBE-SVC-DOCTORE2E0000000")
			}},
		{name: "overlapping Docker network", want: "SVC001 -",
			evidence: func(string) []string {
				return []string{"--cluster-cidr=10.244.0.0/16", "cluster/docker-networks.txt: " + overlapNetwork + " 10.244.250.0/24"}
			},
			break_: func(t *testing.T, ctx context.Context, _ string) {
				hostOut(t, ctx, "docker", "network", "create", "--subnet", "10.244.250.0/24", overlapNetwork)
			},
			repair: func(t *testing.T, ctx context.Context, _ string) {
				hostOut(t, ctx, "docker", "network", "rm", overlapNetwork)
			}},
	}
}

// checkDoctor runs doctor on the healthy cluster (no warning or error),
// then applies each breakage of nodeBreakages alone: doctor must report
// exactly its finding, with its evidence; once it is repaired, doctor
// must find nothing again before the next one is applied.
func checkDoctor(t *testing.T, ctx context.Context, cluster string) {
	ctx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()
	if !expectDoctor(t, ctx, cluster, "healthy", "", nil) {
		t.Fatal("doctor finds something on the healthy cluster: the breakages would not be told apart")
	}
	for _, b := range nodeBreakages() {
		clean := false
		t.Run(b.name, func(t *testing.T) {
			clean = checkNodeBreakage(t, ctx, cluster, b)
		})
		if !clean {
			t.Fatalf("doctor still finds something after repairing %q: not applying the next breakages", b.name)
		}
	}
}

// checkNodeBreakage applies b alone, wants exactly its finding, repairs it
// and reports whether doctor is clean again.
func checkNodeBreakage(t *testing.T, ctx context.Context, cluster string, b nodeBreakage) bool {
	repaired := false
	t.Cleanup(func() {
		if !repaired {
			b.repair(t, context.Background(), cluster)
		}
	})
	b.break_(t, ctx, cluster)
	want := strings.ReplaceAll(b.want, "%s", cluster)
	expectDoctor(t, ctx, cluster, "broken", want, b.evidence(cluster))
	b.repair(t, ctx, cluster)
	repaired = true
	return expectDoctor(t, ctx, cluster, "repaired", "", nil)
}

// expectDoctor runs svccheck doctor --json on cluster and wants exactly
// one warning or error, want ("ID node"), whose evidence lines hold each
// of evidence, or none when want is empty. It reports whether doctor
// found what was wanted.
func expectDoctor(t *testing.T, ctx context.Context, cluster, stage, want string, evidence []string) bool {
	t.Helper()
	start := time.Now()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, "doctor", "--name", cluster, "--json")
	cmd.SetStdout(&stdout)
	cmd.SetStderr(&stderr)
	err := cmd.Run()
	t.Logf("doctor (%s) took %s", stage, time.Since(start).Round(100*time.Millisecond))
	var rep doctor.Report
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		t.Fatalf("doctor (%s): %v; decoding its output: %v\nstderr:\n%s", stage, err, jerr, stderr.String())
	}
	var got []string
	var found *doctor.Finding
	for i, f := range rep.Findings {
		if f.Severity == doctor.SeverityInfo {
			continue
		}
		n := cmp.Or(f.Node, "-")
		got = append(got, f.ID+" "+n)
		found = &rep.Findings[i]
	}
	ok := true
	var wantList []string
	if want != "" {
		wantList = []string{want}
	}
	if !slices.Equal(got, wantList) {
		t.Errorf("doctor (%s) findings %v, want %v\n%s", stage, got, wantList, stdout.String())
		ok = false
	} else if found != nil {
		for _, e := range evidence {
			if !slices.ContainsFunc(found.Evidence, func(l string) bool { return strings.Contains(l, e) }) {
				t.Errorf("doctor (%s) finding %s: no evidence line holds %q; evidence:\n%s", stage, want, e, strings.Join(found.Evidence, "\n"))
				ok = false
			}
		}
	}
	if (err != nil) != (want != "") {
		t.Errorf("doctor (%s) exit: %v, want failure %v", stage, err, want != "")
		ok = false
	}
	return ok
}

// svcChain returns the chain the nat SVCCHK-SERVICES rule with comment jumps to.
func svcChain(t *testing.T, ctx context.Context, node, comment string) string {
	t.Helper()
	for _, l := range strings.Split(nodeOut(t, ctx, node, "iptables-nft-save", "-t", "nat"), "\n") {
		if strings.HasPrefix(l, "-A SVCCHK-SERVICES ") && strings.Contains(l, `"`+comment+`"`) {
			f := strings.Fields(l)
			return f[len(f)-1]
		}
	}
	t.Fatalf("node %s: no SVCCHK-SERVICES rule for %q", node, comment)
	return ""
}

func nodeOut(t *testing.T, ctx context.Context, node string, args ...string) string {
	t.Helper()
	return hostOut(t, ctx, append([]string{"docker", "exec", node}, args...)...)
}

func nodeIn(t *testing.T, ctx context.Context, node, stdin string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"exec", "-i", node}, args...)...)
	cmd.SetStdin(strings.NewReader(stdin))
	if out, err := exec.CombinedOutputLines(cmd); err != nil {
		t.Fatalf("%s on %s: %v: %s", strings.Join(args, " "), node, err, strings.Join(out, "\n"))
	}
}

func hostOut(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	// Standard output alone: iptables-nft-save warns on standard error
	// (legacy tables present), and the two streams interleave mid-line.
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.SetStdout(&out)
	cmd.SetStderr(&stderr)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v: %s%s", strings.Join(args, " "), err, out.String(), stderr.String())
	}
	return out.String()
}
