package specs

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svccheck/svccheck/suites/agent"
	"github.com/svccheck/svccheck/suites/probe"
	"github.com/svccheck/svccheck/suites/workload"
)

// oowPort is the port the out-of-window backend serves on.
const oowPort = 9000

var _ = Describe("ClusterIP", Label(LabelClusterIP), func() {
	It("keeps a connection whose backend sends a segment far outside the window, dropped as conntrack-INVALID on the way", func(ctx SpecContext) {
		server, clientNode := f.worker(0), f.worker(1)
		f.involve(server.Name)
		f.createPods(ctx, workload.WithOutOfWindowPort(f.agentPod("oow", server, map[string]string{"app": "oow"}), oowPort))
		client := f.clientPod(ctx, "client", clientNode)
		svc := f.service(ctx, workload.Service("", "oow", corev1.ServiceTypeClusterIP, map[string]string{"app": "oow"},
			corev1.ServicePort{Name: "oow", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(oowPort)}))
		target := hostPort(svc.Spec.ClusterIP, 80)
		eventuallyAnswered(ctx, client, probe.Request{Target: target, Protocol: probe.HTTP, Count: 1}, programBudget)

		By("holding one connection for 5s from " + clientNode.Name + " while the backend on " + server.Name + " sends it a segment 2^30 beyond the window")
		argv := []string{probe.Binary, "agent", "hold", "--target", target, "--interval", "200ms", "--for", "5s"}
		stdout, stderr, err := probe.PodExec(ctx, f.env.Config, f.env.Client, f.ns, client.Pod, "agent", argv)
		Expect(err).NotTo(HaveOccurred(), "the held connection failed: a segment that reaches the client untranslated makes it reset the connection\n%s%s", stdout, stderr)
		lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
		local := holdLocal(lines[0])
		Expect(local).NotTo(BeEmpty(), "no local address in the hold's first line %q", lines[0])

		logs, err := f.env.Client.CoreV1().Pods(f.ns).GetLogs("oow", &corev1.PodLogOptions{Container: "agent"}).DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(logs)).To(ContainSubstring("> "+local+" "), "the backend sent the held connection (%s) no out-of-window segment; its log:\n%s", local, logs)
		Expect(string(logs)).NotTo(ContainSubstring(agent.OutOfWindowRST), "a client answered an out-of-window segment with a RST; the backend's log:\n%s", logs)
	})
})

// holdLocal returns the local address of an `agent hold` JSON line.
func holdLocal(line string) string {
	var ex agent.Exchange
	if json.Unmarshal([]byte(line), &ex) != nil {
		return ""
	}
	return ex.Local
}
