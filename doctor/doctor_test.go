package doctor

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// copyFixture copies testdata/<name> into a temporary directory.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", name)
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// edit replaces old with new in a dump file, which must hold old.
func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(file))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not hold %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, dir, file, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(file)), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// ids lists a report's findings as "ID node" (node "-" for the cluster).
func ids(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		n := f.Node
		if n == "" {
			n = "-"
		}
		out = append(out, f.ID+" "+n)
	}
	sort.Strings(out)
	return out
}

const (
	worker = "nodes/kind-worker/"
	dnsUDP = `[0:0] -A SVCCHK-SVC-WCH7PXWOE4XNMTCY -p udp -m comment --comment "kube-system/kube-dns:dns" -j DNAT --to-destination 10.244.0.3:53`
)

func TestRunSvccheckDump(t *testing.T) {
	tests := []struct {
		name   string
		files  func(t *testing.T, dir string)
		objs   func(d *Dump)
		want   []string
		failed bool
	}{
		{name: "healthy"},
		{name: "ip_forward off", want: []string{"SVC031 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"sysctl.txt", "net.ipv4.ip_forward = 1", "net.ipv4.ip_forward = 0")
			}},
		{name: "conntrack nearly full", want: []string{"SVC030 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"sysctl.txt", "nf_conntrack_max = 262144", "nf_conntrack_max = 100")
				edit(t, dir, worker+"sysctl.txt", "nf_conntrack_count = ", "nf_conntrack_count = 95\n# was ")
			}},
		{name: "bridge CNI without br_netfilter", want: []string{"SVC032 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"cni-config.txt", `"type": "ptp"`, `"type": "bridge"`)
				edit(t, dir, worker+"sysctl.txt", "net.bridge.bridge-nf-call-iptables = 1\n", "")
			}},
		{name: "bridge CNI with br_netfilter", files: func(t *testing.T, dir string) {
			edit(t, dir, worker+"cni-config.txt", `"type": "ptp"`, `"type": "bridge"`)
		}},
		{name: "strict rp_filter on a veth without a route", want: []string{"SVC033 kind-worker"},
			files: func(t *testing.T, dir string) {
				appendTo(t, dir, worker+"sysctl-rp-filter.txt", "net.ipv4.conf.vethdead.rp_filter = 1\nnet.ipv4.conf.vethok.rp_filter = 1\n")
				appendTo(t, dir, worker+"ip-route.txt", "10.244.1.7 dev vethok scope host\n")
			}},
		{name: "route_localnet off with a NodePort Service", want: []string{"SVC034 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"sysctl.txt", "route_localnet = 1", "route_localnet = 0")
			},
			objs: func(d *Dump) { d.Services[0].Spec.Type = corev1.ServiceTypeNodePort }},
		{name: "route_localnet off without a NodePort Service", files: func(t *testing.T, dir string) {
			edit(t, dir, worker+"sysctl.txt", "route_localnet = 1", "route_localnet = 0")
		}},
		{name: "rules in both backends", want: []string{"SVC010 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-backend.txt", "legacy: 0 rules", "legacy: 1 rules")
			}},
		{name: "kube-proxy chains left", want: []string{"SVC011 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-nat.txt", ":KUBE-KUBELET-CANARY - [0:0]", ":KUBE-KUBELET-CANARY - [0:0]\n:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]")
			}},
		{name: "flushed Service chain", want: []string{"SVC012 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-nat.txt", dnsUDP+"\n", "")
				edit(t, dir, worker+"iptables-nat.txt", strings.Replace(dnsUDP, " -j DNAT --to-destination 10.244.0.3:53", " -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.0.2:53", 1)+"\n", "")
			}},
		{name: "flushed Service chain, its namespace listed live", want: []string{"SVC012 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-nat.txt", dnsUDP+"\n", "")
				edit(t, dir, worker+"iptables-nat.txt", strings.Replace(dnsUDP, " -j DNAT --to-destination 10.244.0.3:53", " -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.0.2:53", 1)+"\n", "")
				appendTo(t, dir, "cluster/"+FileLiveNamespaces, "default\nkube-system\n")
			}},
		{name: "no rules for a namespace gone before the nodes were dumped",
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-nat.txt", dnsUDP+"\n", "")
				edit(t, dir, worker+"iptables-nat.txt", strings.Replace(dnsUDP, " -j DNAT --to-destination 10.244.0.3:53", " -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.0.2:53", 1)+"\n", "")
				appendTo(t, dir, "cluster/"+FileLiveNamespaces, "default\n")
			}},
		{name: "endpoint missing", want: []string{"SVC015 kind-worker"},
			files: func(t *testing.T, dir string) { edit(t, dir, worker+"iptables-nat.txt", dnsUDP+"\n", "") }},
		{name: "endpoint gone", want: []string{"SVC014 kind-worker", "SVC015 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-nat.txt", dnsUDP, strings.Replace(dnsUDP, "10.244.0.3:53", "10.244.9.9:53", 1))
			}},
		{name: "Service gone", want: []string{"SVC013 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"iptables-nat.txt", dnsUDP, dnsUDP+"\n"+strings.Replace(dnsUDP, "kube-system/kube-dns:dns", "kube-system/gone:dns", 1))
			}},
		{name: "Service gone in a namespace not dumped", files: func(t *testing.T, dir string) {
			edit(t, dir, worker+"iptables-nat.txt", dnsUDP, dnsUDP+"\n"+strings.Replace(dnsUDP, "kube-system/kube-dns:dns", "elsewhere/gone:dns", 1))
		}},
		{name: "Docker network over the pod range", want: []string{"SVC001 -"},
			files: func(t *testing.T, dir string) {
				appendTo(t, dir, "cluster/docker-networks.txt", "clash 10.244.128.0/17\n")
			}},
		{name: "route into the Service range", want: []string{"SVC002 kind-worker"},
			files: func(t *testing.T, dir string) {
				appendTo(t, dir, worker+"ip-route.txt", "10.96.5.0/24 via 172.18.0.9 dev eth0\n")
			}},
		{name: "ip_local_port_range over the NodePorts", want: []string{"SVC003 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"sysctl.txt", "ip_local_port_range = 32768", "ip_local_port_range = 32000")
			}},
		{name: "health check answers 200 without local endpoints", want: []string{"SVC020 kind-worker"},
			files: func(t *testing.T, dir string) {
				appendTo(t, dir, worker+"healthchecks.txt", `kube-system/kube-dns 31999 {"localEndpoints":1} HTTP=200`+"\n")
				appendTo(t, dir, "nodes/kind-control-plane/healthchecks.txt", `kube-system/kube-dns 31999 {"localEndpoints":2} HTTP=200`+"\n")
			},
			objs: func(d *Dump) {
				for i := range d.Services {
					if d.Services[i].Name == "kube-dns" {
						d.Services[i].Spec.HealthCheckNodePort = 31999
					}
				}
			}},
		{name: "proxy pod not Ready and restarted", want: []string{"SVC021 kind-worker", "SVC022 kind-worker"},
			objs: func(d *Dump) {
				for i, p := range d.Pods {
					if p.Spec.NodeName == "kind-worker" && p.Labels["k8s-app"] == "svccheck-proxy" {
						d.Pods[i].Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
						d.Pods[i].Status.ContainerStatuses[0].RestartCount = 2
					}
				}
			}},
		{name: "proxy failing syncs", want: []string{"SVC023 kind-worker", "SVC023 kind-worker"},
			files: func(t *testing.T, dir string) {
				edit(t, dir, worker+"healthz.txt", "HTTP 200", "HTTP 503")
				appendTo(t, dir, worker+"metrics.txt", `svccheck_proxy_sync_failures_total{mode="full"} 3`+"\n")
			}},
		{name: "sysctl.txt missing", files: func(t *testing.T, dir string) { _ = os.Remove(filepath.Join(dir, worker+"sysctl.txt")) },
			want: []string{"SVC090 kind-worker", "SVC090 kind-worker", "SVC090 kind-worker", "SVC090 kind-worker"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyFixture(t, "svccheck")
			if tc.files != nil {
				tc.files(t, dir)
			}
			d, err := Load(dir)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tc.objs != nil {
				tc.objs(d)
			}
			r := Run(d)
			if diff := cmp.Diff(tc.want, ids(r)); diff != "" {
				var b strings.Builder
				_ = WriteText(&b, r)
				t.Errorf("findings (-want +got):\n%s\n%s", diff, b.String())
			}
			wantFailed := false
			for _, w := range tc.want {
				wantFailed = wantFailed || !strings.HasPrefix(w, "SVC090")
			}
			if r.Failed() != wantFailed {
				t.Errorf("Failed() = %v, want %v", r.Failed(), wantFailed)
			}
		})
	}
}
