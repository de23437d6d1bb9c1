package cluster

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/exec"
)

// kubeletJournalLines is how many lines of a node's kubelet journal a node
// diagnosis carries.
const kubeletJournalLines = 20

// kubeletJournalTimeout bounds reading one node's kubelet journal.
const kubeletJournalTimeout = 10 * time.Second

// diagLineMax bounds one journal line in a diagnosis: kubelet's error lines
// carry whole structured objects.
const diagLineMax = 300

// diagMax bounds a node or pod-CIDR diagnosis.
const diagMax = 8 << 10

// nodeState is what a node diagnosis says about one node.
type nodeState struct {
	name string
	// status is the node's Ready condition, or why there is none.
	status string
	// ready is true when the Ready condition is True.
	ready bool
	// journal holds the last lines of the node's kubelet journal, or
	// journalErr why they could not be read; both empty when not read.
	journal    []string
	journalErr error
}

// diagnoseNodes describes every node of the cluster: its Ready condition
// and, for a node not Ready, the end of its kubelet journal. It never fails:
// what it cannot read, it says.
func (c *Cluster) diagnoseNodes(ctx context.Context) string {
	var b strings.Builder
	var apiNodes []corev1.Node
	list, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	listed := err == nil
	if listed {
		apiNodes = list.Items
	} else {
		fmt.Fprintf(&b, "\n  listing nodes: %v", err)
	}
	cmders := map[string]exec.Cmder{}
	var containers []string
	kindNodes, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		fmt.Fprintf(&b, "\n  listing node containers: %v", err)
	}
	for _, kn := range kindNodes {
		containers = append(containers, kn.String())
		cmders[kn.String()] = kn
	}
	states := nodeStates(containers, apiNodes, listed)
	for i, s := range states {
		if cmder, ok := cmders[s.name]; ok && !s.ready {
			states[i].journal, states[i].journalErr = kubeletJournal(ctx, cmder)
		}
	}
	writeNodeStates(&b, states)
	return boundText(b.String(), diagMax)
}

// nodeStates joins the cluster's node containers with the Node objects the
// API server has (listed is false when listing them failed), sorted by name.
func nodeStates(containers []string, apiNodes []corev1.Node, listed bool) []nodeState {
	byName := map[string]nodeState{}
	for _, n := range containers {
		st := "no Node object (kubelet has not registered)"
		if !listed {
			st = "Node object unknown"
		}
		byName[n] = nodeState{name: n, status: st}
	}
	for _, n := range apiNodes {
		s := nodeState{name: n.Name, status: "no Ready condition yet"}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				s.ready = cond.Status == corev1.ConditionTrue
				s.status = readyCondition(cond)
			}
		}
		byName[n.Name] = s
	}
	out := make([]nodeState, 0, len(byName))
	for _, s := range byName {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b nodeState) int { return strings.Compare(a.name, b.name) })
	return out
}

// readyCondition formats a node's Ready condition like
// "Ready=False since 12:00:05 (KubeletNotReady: ...)".
func readyCondition(cond corev1.NodeCondition) string {
	s := "Ready=" + string(cond.Status)
	if !cond.LastTransitionTime.IsZero() {
		s += " since " + cond.LastTransitionTime.UTC().Format(time.TimeOnly)
	}
	if cond.Reason != "" || cond.Message != "" {
		s += fmt.Sprintf(" (%s: %s)", cond.Reason, strings.TrimSpace(cond.Message))
	}
	return s
}

// writeNodeStates writes one block per node, in the layout of diagnose.
func writeNodeStates(b *strings.Builder, states []nodeState) {
	if len(states) == 0 {
		b.WriteString("\n  no nodes found")
	}
	for _, s := range states {
		fmt.Fprintf(b, "\n--- node %s: %s", s.name, s.status)
		if s.journalErr != nil {
			fmt.Fprintf(b, "\n  kubelet journal: %v", s.journalErr)
		}
		if len(s.journal) > 0 {
			fmt.Fprintf(b, "\n  last kubelet journal lines:")
			for _, l := range s.journal {
				fmt.Fprintf(b, "\n    %s", truncateLine(l, diagLineMax))
			}
		}
	}
}

// kubeletJournal returns the last kubeletJournalLines lines of the kubelet
// journal on a node, and what was printed before an error.
func kubeletJournal(ctx context.Context, cmder exec.Cmder) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, kubeletJournalTimeout)
	defer cancel()
	args := []string{"-u", "kubelet", "--no-pager", "-n", strconv.Itoa(kubeletJournalLines)}
	var out bytes.Buffer
	err := cmder.CommandContext(ctx, "journalctl", args...).SetStdout(&out).SetStderr(&out).Run()
	lines := lastLines(out.String(), kubeletJournalLines)
	if err != nil {
		return lines, fmt.Errorf("running %s: %w", exec.PrettyCommand("journalctl", args...), err)
	}
	return lines, nil
}

// lastLines returns the last n lines of s, ignoring trailing newlines.
func lastLines(s string, n int) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// truncateLine cuts s to at most max bytes, on a rune boundary, marking the
// cut.
func truncateLine(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " [...]"
}

// boundText cuts a diagnosis to at most about max bytes, at a line end,
// saying how much was left out.
func boundText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := strings.LastIndexByte(s[:max], '\n')
	if cut <= 0 {
		cut = max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return fmt.Sprintf("%s\n  [... %d more bytes of diagnosis left out]", s[:cut], len(s)-cut)
}
