package explain

import (
	"fmt"
	"strings"
)

// writeKernel prints the kernel's path of a live probe after the
// computed tree, and whether the two agree.
func writeKernel(b *strings.Builder, ex *Explanation) {
	k := ex.Kernel
	fmt.Fprintf(b, "\nkernel's path (%s), probe %s\n", k.Tracer, k.Probe)
	fmt.Fprintf(b, "trace rule: %s\n", k.TraceRule)
	for _, s := range k.Steps {
		where := s.Table + " " + s.Chain
		if s.Handle != "" {
			where += " " + s.Handle
		}
		verdict := s.Verdict
		if s.Target != "" {
			verdict += " " + s.Target
		}
		fmt.Fprintf(b, "  %s: %s\n    -> %s", where, s.Text, verdict)
		if s.Service != "" {
			fmt.Fprintf(b, "; Service port %s", s.Service)
		}
		b.WriteString("\n")
	}
	to := k.Destination
	if k.DNAT {
		to = "DNAT to " + k.Destination
	}
	m := "not masqueraded"
	if k.Masquerade {
		m = "masqueraded"
	}
	fmt.Fprintf(b, "  => %s: %s, %s\n", k.Verdict, to, m)
	switch {
	case ex.FromKernel:
		b.WriteString("no iptables proxy rule on the node to compute a path from: the Service ports and the outcome above are the kernel's\n")
	case k.Agrees == nil:
	case *k.Agrees:
		b.WriteString("the kernel's path agrees with the computed branch that ends at " + k.Destination + "\n")
	default:
		b.WriteString("the kernel's path DIFFERS from the computed ones:\n")
		for _, d := range k.Differences {
			b.WriteString("  - " + d + "\n")
		}
	}
}
