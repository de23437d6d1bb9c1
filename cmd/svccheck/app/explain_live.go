package app

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/explain"
	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/diag"
	"github.com/svccheck/svccheck/suites/probe"
)

// liveTrace runs explain --live: one probe from src to dst, traced by the
// kernel of src's node (see explain.LiveTrace).
func liveTrace(ctx context.Context, o *explainOptions, src explain.Source, dst explain.Target, stderr io.Writer) (*explain.KernelPath, error) {
	c, err := liveCluster(ctx, o)
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := c.Close(cctx); err != nil {
			fmt.Fprintf(stderr, "warning: %v\n", err)
		}
	}()
	cmders, err := c.Access().Cmders(ctx)
	if err != nil {
		return nil, fmt.Errorf("reaching the nodes of %s: %w", c.Name, err)
	}
	node, ok := cmders[src.Node]
	if !ok {
		return nil, usageError("node %s is not a node of cluster %s", src.Node, c.Name)
	}
	prober, err := liveProber(ctx, c, src, node)
	if err != nil {
		return nil, err
	}
	sport := 40000 + rand.IntN(20000)
	proto := probe.TCP
	if dst.Protocol == "udp" {
		proto = probe.UDP
	}
	target := strings.TrimSuffix(dst.String(), "/"+dst.Protocol)
	l := &explain.LiveTrace{Node: node, Source: src, Target: dst, SourcePort: sport,
		Probe: func(ctx context.Context) (string, error) {
			res, err := prober.Probe(ctx, probe.Request{Target: target, Protocol: proto, Count: 1, SourcePort: sport})
			if err != nil || len(res) == 0 {
				return "", err
			}
			switch a := res[0]; {
			case a.Outcome == probe.Answered && a.Hostname != "":
				return "answered by " + a.Hostname, nil
			case a.Outcome == probe.Answered:
				return "connected", nil
			default:
				return string(a.Outcome) + ": " + a.Error, nil
			}
		}}
	fmt.Fprintf(stderr, "tracing one probe from %s to %s in the kernel of node %s (source port %d)\n", src, dst, src.Node, sport)
	return l.Run(ctx)
}

// liveCluster reaches the cluster of --name (kind) or --kubeconfig (host
// pods).
func liveCluster(ctx context.Context, o *explainOptions) (*cluster.Cluster, error) {
	if o.kubeconfig == "" {
		name := o.name
		if name == "" {
			name = cluster.DefaultName
		}
		c, err := cluster.Get(ctx, name)
		if err != nil {
			return nil, usageError("cluster %s: %v", name, err)
		}
		return c, nil
	}
	image, err := hostPodImage("")
	if err != nil {
		return nil, err
	}
	c, err := cluster.Connect(ctx, cluster.ConnectOptions{Kubeconfig: o.kubeconfig, Image: image, RunID: newRunID(),
		HostPodTimeout: 2 * time.Minute, HostPodLifetime: diag.DefaultHostPodLifetime, APITimeout: o.timeout})
	if err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

// liveProber probes from the source: inside the pod (its image must hold
// the svccheck binary, as svccheck's agent pods do), from the node, or
// from svccheck's client container outside a kind cluster.
func liveProber(ctx context.Context, c *cluster.Cluster, src explain.Source, node exec.Cmder) (probe.Prober, error) {
	switch src.Kind {
	case explain.FromPod:
		ns, pod, _ := strings.Cut(src.Name, "/")
		return &probe.PodProber{Config: c.RESTConfig, Client: c.Clientset, Namespace: ns, Pod: pod}, nil
	case explain.FromNode:
		return &probe.NodeProber{Name: src.Node, Cmder: node}, nil
	}
	if !c.Kind() {
		return nil, usageError("--live --from external needs svccheck's client container outside a kind cluster; %s is not a kind cluster", c.Name)
	}
	name, ip, err := runningExternalClient(ctx, c.Name)
	if err != nil {
		return nil, err
	}
	if ip != src.Addr.String() {
		return nil, usageError("--live probes from svccheck's client container %s, whose address is %s: give --from external %s", name, ip, ip)
	}
	return &probe.ExternalProber{Container: name, Cmder: exec.DefaultCmder}, nil
}

// runningExternalClient finds a running client container of svccheck's outside
// the kind cluster (cluster.StartExternalClient) and its address.
func runningExternalClient(ctx context.Context, clusterName string) (name, ip string, err error) {
	lines, err := exec.OutputLines(exec.CommandContext(ctx, "docker", "ps", "--filter",
		"label="+cluster.ExternalClientLabel+"="+clusterName, "--format", "{{.Names}}"))
	if err != nil {
		return "", "", fmt.Errorf("looking for svccheck's client container outside cluster %s: %w", clusterName, err)
	}
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return "", "", usageError("cluster %s has no svccheck client container outside it (svccheck run starts one for its external specs): --live cannot probe from external", clusterName)
	}
	name = strings.TrimSpace(lines[0])
	out, err := exec.Output(exec.CommandContext(ctx, "docker", "inspect", "-f",
		"{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name))
	if err != nil {
		return "", "", fmt.Errorf("reading the address of container %s: %w", name, err)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return "", "", fmt.Errorf("container %s has no address", name)
	}
	return name, f[0], nil
}
