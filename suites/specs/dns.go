package specs

import (
	"context"
	"encoding/json"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/svccheck/svccheck/suites/agent"
	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// clusterDomain is the cluster's DNS domain; kind keeps kubeadm's default.
const clusterDomain = "cluster.local"

// svcFQDN is the fully qualified name of a Service of the spec's namespace,
// with the trailing dot DNS answers carry.
func svcFQDN(name string) string {
	return fmt.Sprintf("%s.%s.svc.%s.", name, f.ns, clusterDomain)
}

// lookupRecords resolves name for records of typ with `svccheck agent dns`
// in the client pod.
func lookupRecords(ctx context.Context, g Gomega, p *probe.PodProber, name string, typ agent.RecordType) agent.DNSReport {
	stdout, stderr, err := probe.PodExec(ctx, p.Config, p.Client, p.Namespace, p.Pod, p.Container,
		[]string{probe.Binary, "agent", "dns", "--name", name, "--type", string(typ), "--json"})
	g.Expect(err).NotTo(HaveOccurred(), "stderr: %s", stderr)
	var rep agent.DNSReport
	g.Expect(json.Unmarshal(stdout, &rep)).To(Succeed(), "output: %s", stdout)
	g.Expect(rep.Error).To(BeEmpty(), "resolving %s %s", typ, name)
	return rep
}

// eventuallyResolves waits until check passes on the records of name.
func eventuallyResolves(ctx context.Context, p *probe.PodProber, name string, typ agent.RecordType, check func(Gomega, agent.DNSReport)) {
	GinkgoHelper()
	By(fmt.Sprintf("resolving %s %s", typ, name))
	Eventually(ctx, func(g Gomega) {
		check(g, lookupRecords(ctx, g, p, name, typ))
	}).WithTimeout(programBudget).WithPolling(poll).Should(Succeed())
}

var _ = Describe("Service DNS", Label(LabelDNS), func() {
	It("resolves a ClusterIP Service's name, fully and partially qualified, and its port's SRV record", Label(LabelClusterIP), func(ctx SpecContext) {
		client := f.clientPod(ctx, "client", f.worker(0))
		svc := f.service(ctx, workload.Service("", "named", corev1.ServiceTypeClusterIP, map[string]string{"app": "named"}, workload.HTTPServicePort(80)))
		fqdn := svcFQDN("named")
		// Names without the trailing dot go through the pod's search path.
		for _, name := range []string{"named", "named." + f.ns, "named." + f.ns + ".svc", fqdn} {
			eventuallyResolves(ctx, client, name, agent.TypeA, func(g Gomega, rep agent.DNSReport) {
				g.Expect(rep.Addresses).To(Equal([]string{svc.Spec.ClusterIP}), "A records of %s", name)
			})
		}
		eventuallyResolves(ctx, client, "_http._tcp."+fqdn, agent.TypeSRV, func(g Gomega, rep agent.DNSReport) {
			g.Expect(rep.SRV).To(Equal([]agent.SRVRecord{{Target: fqdn, Port: 80}}))
		})
	})

	It("answers a CNAME for an ExternalName Service", Label(LabelClusterIP), func(ctx SpecContext) {
		client := f.clientPod(ctx, "client", f.worker(0))
		target := f.service(ctx, workload.Service("", "real", corev1.ServiceTypeClusterIP, map[string]string{"app": "real"}, workload.HTTPServicePort(80)))
		alias := workload.Service("", "alias", corev1.ServiceTypeExternalName, nil)
		// An in-cluster target: CoreDNS resolves it without leaving the
		// cluster, which cannot reach any outside DNS server.
		alias.Spec.ExternalName = fmt.Sprintf("real.%s.svc.%s", f.ns, clusterDomain)
		f.service(ctx, alias)
		eventuallyResolves(ctx, client, svcFQDN("alias"), agent.TypeCNAME, func(g Gomega, rep agent.DNSReport) {
			g.Expect(rep.CNAME).To(Equal(svcFQDN("real")))
			g.Expect(rep.Addresses).To(Equal([]string{target.Spec.ClusterIP}))
		})
	})

	It("publishes SRV records for a headless Service's named ports", Label(LabelHeadless), func(ctx SpecContext) {
		backends, client := f.withClient(ctx, "srv", 2)
		svc := headlessService("srv", "srv")
		svc.Spec.Ports = append(svc.Spec.Ports, workload.UDPServicePort(53))
		f.service(ctx, svc)
		fqdn := svcFQDN("srv")
		for _, tc := range []struct {
			name string
			port uint16
		}{{"_http._tcp.", workload.HTTPPort}, {"_udp._udp.", workload.UDPPort}} {
			eventuallyResolves(ctx, client, tc.name+fqdn, agent.TypeSRV, func(g Gomega, rep agent.DNSReport) {
				g.Expect(rep.SRV).To(HaveLen(len(backends)), "one record per ready pod")
				for _, r := range rep.SRV {
					g.Expect(r.Port).To(Equal(tc.port), "port of %s", r.Target)
					g.Expect(r.Target).To(HaveSuffix("."+fqdn), "target of a record")
				}
			})
		}
		By("resolving every SRV target to a backend's address")
		want := make([]string, len(backends))
		for i, p := range backends {
			want[i] = p.Status.PodIP
		}
		var got []string
		for _, r := range lookupRecords(ctx, Default, client, "_http._tcp."+fqdn, agent.TypeSRV).SRV {
			got = append(got, lookupRecords(ctx, Default, client, r.Target, agent.TypeA).Addresses...)
		}
		Expect(got).To(ConsistOf(want))
	})

	It("resolves pod hostnames under a headless Service's subdomain", Label(LabelHeadless), func(ctx SpecContext) {
		client := f.clientPod(ctx, "client", f.worker(0))
		var pods []*corev1.Pod
		for i, node := range f.env.workers()[:2] {
			pod := f.podFor(workload.Pod{Name: fmt.Sprintf("sub-pod-%d", i), Node: node.Name, Labels: map[string]string{"app": "sub"}})
			pod.Spec.Hostname = fmt.Sprintf("host-%d", i)
			pod.Spec.Subdomain = "sub"
			pods = append(pods, pod)
		}
		ready := f.createPods(ctx, pods...)
		f.service(ctx, headlessService("sub", "sub"))
		for i, p := range ready {
			for _, name := range []string{p.Spec.Hostname + ".sub", p.Spec.Hostname + "." + svcFQDN("sub")} {
				eventuallyResolves(ctx, client, name, agent.TypeA, func(g Gomega, rep agent.DNSReport) {
					g.Expect(rep.Addresses).To(Equal([]string{ready[i].Status.PodIP}), "A records of %s", name)
				})
			}
		}
	})
})
