package specs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	kexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/proxy"
	"github.com/svccheck/svccheck/reports"
	"github.com/svccheck/svccheck/suites/agent"
	"github.com/svccheck/svccheck/suites/diag"
	"github.com/svccheck/svccheck/suites/probe"
)

// sliceWatch records when each Service's EndpointSlice was first seen
// with a ready endpoint of a backend set.
type sliceWatch struct {
	mu    sync.Mutex
	ready map[string]time.Time // "service/set" -> first seen
}

// watchSlices watches the EndpointSlices of ns until ctx ends.
func watchSlices(ctx context.Context, cs kubernetes.Interface, ns string) *sliceWatch {
	GinkgoHelper()
	sw := &sliceWatch{ready: map[string]time.Time{}}
	w, err := cs.DiscoveryV1().EndpointSlices(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		Fail(fmt.Sprintf("watching EndpointSlices: %v", err))
	}
	DeferCleanup(w.Stop)
	go func() {
		for ev := range w.ResultChan() {
			s, ok := ev.Object.(*discoveryv1.EndpointSlice)
			if !ok || (ev.Type != watch.Added && ev.Type != watch.Modified) {
				continue
			}
			sw.saw(s, time.Now())
		}
	}()
	return sw
}

// saw records the backend sets with a ready endpoint in s.
func (sw *sliceWatch) saw(s *discoveryv1.EndpointSlice, at time.Time) {
	svc := s.Labels[discoveryv1.LabelServiceName]
	sw.mu.Lock()
	defer sw.mu.Unlock()
	for _, ep := range s.Endpoints {
		if ep.TargetRef == nil || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
			continue
		}
		set := ep.TargetRef.Name
		if i := strings.LastIndex(set, "-"); i > 0 {
			set = set[:i]
		}
		key := svc + "/" + set
		if _, seen := sw.ready[key]; !seen {
			sw.ready[key] = at
		}
	}
}

// readyAt returns when svc's slice was first seen ready with set.
func (sw *sliceWatch) readyAt(svc, set string) (time.Time, bool) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	t, ok := sw.ready[svc+"/"+set]
	return t, ok
}

// scalePhase starts a probe-first loop in the client pod of every node,
// runs drive, which sends it the Services to probe as it makes them, and
// returns the latencies from each Service's slice being ready with set to
// its first answer from set on each node.
func (fx *fixture) scalePhase(ctx context.Context, name, set string, budget time.Duration, sw *sliceWatch,
	drive func(send func(svc, target string))) reports.ScalePhase {
	GinkgoHelper()
	nodes := fx.env.Nodes
	answers := make([]map[string]time.Time, len(nodes))
	inputs := make([]*io.PipeWriter, len(nodes))
	var wg sync.WaitGroup
	for i := range nodes {
		answers[i] = map[string]time.Time{}
		in, inW := io.Pipe()
		inputs[i] = inW
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = fx.probeFirst(ctx, scaleClientName(i), budget, in)
		}()
	}
	var (
		mu      sync.Mutex
		targets = map[string]string{} // Service -> target
	)
	drive(func(svc, target string) {
		mu.Lock()
		defer mu.Unlock()
		targets[svc] = target
		for _, w := range inputs {
			fmt.Fprintf(w, "%s %s\n", target, set)
		}
	})
	for _, w := range inputs {
		w.Close()
	}
	wg.Wait()

	return phaseStats(name, set, nodes, targets, answers, sw)
}

// phaseStats returns the latencies of a phase from the first answers of
// each node (answers, by target) to the Services of targets, measured from
// their slices' being seen ready with set.
func phaseStats(name, set string, nodes []Node, targets map[string]string, answers []map[string]time.Time, sw *sliceWatch) reports.ScalePhase {
	var all []time.Duration
	allNever := 0
	phase := reports.ScalePhase{Name: name}
	for i, node := range nodes {
		var lat []time.Duration
		never := 0
		for _, svc := range slices.Sorted(maps.Keys(targets)) {
			at, answered := answers[i][targets[svc]]
			ready, seen := sw.readyAt(svc, set)
			switch {
			case answered && seen:
				lat = append(lat, at.Sub(ready))
			case answered:
				fmt.Fprintf(GinkgoWriter, "%s: %s answered on %s but its slice was never seen ready\n", name, svc, node.Name)
				never++
			default:
				never++
			}
		}
		all = append(all, lat...)
		allNever += never
		phase.Nodes = append(phase.Nodes, reports.NewLatencyStats(node.Name, lat, never))
	}
	phase.All = reports.NewLatencyStats("", all, allNever)
	return phase
}

// probeFirst runs `svccheck agent probe-first` in pod with stdin in and
// returns when each target first answered.
func (fx *fixture) probeFirst(ctx context.Context, pod string, budget time.Duration, in *io.PipeReader) map[string]time.Time {
	defer in.Close()
	out, outW := io.Pipe()
	answers := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var a agent.FirstAnswer
			if err := json.Unmarshal(sc.Bytes(), &a); err == nil {
				answers[a.Target] = time.Unix(0, a.At)
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	argv := []string{"svccheck", "agent", "probe-first", "--budget", budget.String(),
		"--interval", scaleInterval.String(), "--timeout", scaleAttemptTimeout.String(), "--parallel", "100000"}
	var stderr bytes.Buffer
	err := probe.PodExecStream(ctx, fx.env.Config, fx.env.Client, fx.ns, pod, "agent", argv, in, outW, &stderr)
	outW.Close()
	<-done
	if err != nil {
		fmt.Fprintf(GinkgoWriter, "probe-first in %s: %v: %s\n", pod, err, stderr.String())
	}
	return answers
}

// scrapeMetrics reads the proxy's metrics on every node; a node that does
// not answer is left out.
func scrapeMetrics(ctx context.Context, nodes []Node, mode proxy.Mode) map[string]map[string]*reports.Histogram {
	port := diag.KubeProxyMetricsPort
	if mode == proxy.Svccheck {
		port = diag.SvccheckMetricsPort
	}
	out := map[string]map[string]*reports.Histogram{}
	for _, n := range nodes {
		cmd := n.Cmder.CommandContext(ctx, "curl", "-sS", "--max-time", "10", fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		text, err := kexec.Output(cmd)
		if err != nil {
			fmt.Fprintf(GinkgoWriter, "reading the proxy's metrics on %s: %v\n", n.Name, err)
			continue
		}
		out[n.Name] = reports.ParseHistograms(string(text), reports.ScaleMetrics)
	}
	return out
}

// metricDeltas returns what every node's histograms observed between the
// scrapes before and after.
func metricDeltas(before, after map[string]map[string]*reports.Histogram) []reports.NodeMetric {
	var out []reports.NodeMetric
	for _, node := range slices.Sorted(maps.Keys(after)) {
		for _, metric := range slices.Sorted(maps.Keys(after[node])) {
			out = append(out, reports.HistogramDelta(node, metric, before[node][metric], after[node][metric]))
		}
	}
	return out
}
