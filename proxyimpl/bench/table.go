package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/olekukonko/tablewriter"
)

// writeTable prints one row per proxy and size: its figures, and for
// svccheck's rows the ratio to each kube-proxy row it is compared with
// (below 1 is svccheck faster, smaller or walking fewer rules, except for
// the connection rate, where above 1 is svccheck faster). The walk and
// connection-rate ratios are those to the Service each proxy walks most
// rules to: kube-proxy's iptables mode orders Services by Go map
// iteration, so its last-added Service sits anywhere in its chain.
func writeTable(w io.Writer, runs []run) {
	t := tablewriter.NewWriter(w)
	t.Header("services", "proxy", "first full sync", "restart full sync", "partial sync (median)", "peak RSS",
		"rules walked to last Service (most to any)", "new conns/s to last Service (to most walked)",
		"vs kube-proxy (full / restart / partial / RSS / most walked / conns/s to most walked)")
	for _, r := range runs {
		walk, conns := "not measured: "+r.NotMeasured, "not measured"
		if r.Walked != nil && r.MostWalked != nil {
			walk = fmt.Sprintf("%s (%d)", r.Walked, r.MostWalked.Most)
			conns = fmt.Sprintf("%.0f (%.0f)", r.ConnsPerSecond, r.ConnsPerSecondMost)
		}
		if r.Result.Stopped != "" {
			_ = t.Append(fmt.Sprint(r.Services), r.Proxy, r.Result.Stopped, "", "", "", walk, conns, "")
			continue
		}
		_ = t.Append(fmt.Sprint(r.Services), r.Proxy, ms(r.Result.FirstFull), ms(r.Result.RestartFull),
			ms(median(r.Result.Partial)), fmt.Sprintf("%d MiB", r.Result.PeakRSS/1024), walk, conns, versus(r, runs))
	}
	_ = t.Render()
}

// versus returns r's ratios to the kube-proxy rows it is compared with.
func versus(r run, runs []run) string {
	var vs string
	im, _ := implByName(r.Proxy)
	for _, ref := range im.reference {
		i := slices.IndexFunc(runs, func(o run) bool { return o.Proxy == ref && o.Services == r.Services })
		if i < 0 {
			continue
		}
		o := runs[i]
		if o.Result.Stopped != "" {
			vs += fmt.Sprintf("%s: %s; ", ref, o.Result.Stopped)
			continue
		}
		walk, conns := "-", "-"
		if r.MostWalked != nil && o.MostWalked != nil {
			walk = ratio(time.Duration(r.MostWalked.Most), time.Duration(o.MostWalked.Most))
			conns = ratio(time.Duration(r.ConnsPerSecondMost), time.Duration(o.ConnsPerSecondMost))
		}
		vs += fmt.Sprintf("%s: %s / %s / %s / %s / %s / %s; ", ref, ratio(r.Result.FirstFull, o.Result.FirstFull),
			ratio(r.Result.RestartFull, o.Result.RestartFull), ratio(median(r.Result.Partial), median(o.Result.Partial)),
			ratio(time.Duration(r.Result.PeakRSS), time.Duration(o.Result.PeakRSS)), walk, conns)
	}
	return vs
}

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
