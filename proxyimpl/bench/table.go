package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/olekukonko/tablewriter"
)

// writeTable prints one row per proxy and size: its figures, and for
// svccheck's rows the ratio to each kube-proxy row it is compared with.
func writeTable(w io.Writer, runs []run) {
	t := tablewriter.NewWriter(w)
	t.Header("services", "proxy", "first full sync", "restart full sync", "partial sync (median)", "peak RSS", "vs kube-proxy (full / restart / partial / RSS)")
	for _, r := range runs {
		if r.Result.Stopped != "" {
			_ = t.Append(fmt.Sprint(r.Services), r.Proxy, r.Result.Stopped, "", "", "", "")
			continue
		}
		var vs string
		im, _ := implByName(r.Proxy)
		for _, ref := range im.reference {
			i := slices.IndexFunc(runs, func(o run) bool { return o.Proxy == ref && o.Services == r.Services })
			if i < 0 {
				continue
			}
			o := runs[i].Result
			if o.Stopped != "" {
				vs += fmt.Sprintf("%s: %s; ", ref, o.Stopped)
				continue
			}
			vs += fmt.Sprintf("%s: %s / %s / %s / %s; ", ref, ratio(r.Result.FirstFull, o.FirstFull), ratio(r.Result.RestartFull, o.RestartFull),
				ratio(median(r.Result.Partial), median(o.Partial)), ratio(time.Duration(r.Result.PeakRSS), time.Duration(o.PeakRSS)))
		}
		_ = t.Append(fmt.Sprint(r.Services), r.Proxy, ms(r.Result.FirstFull), ms(r.Result.RestartFull),
			ms(median(r.Result.Partial)), fmt.Sprintf("%d MiB", r.Result.PeakRSS/1024), vs)
	}
	_ = t.Render()
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
