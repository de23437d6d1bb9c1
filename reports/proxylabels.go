package reports

import (
	"strings"

	"github.com/svccheck/svccheck/proxy"
)

// The suite labels report.json (Ginkgo's report, which has no field of
// svccheck's own) carries the proxy under test in, beside the run id:
// "svccheck.io/proxy-mode=svccheck" and, for a proxy broken on purpose,
// "svccheck.io/proxy-broken=affinity,reject".
const (
	LabelProxyMode   = "svccheck.io/proxy-mode"
	LabelProxyBroken = "svccheck.io/proxy-broken"
)

// ProxyLabels returns the suite labels that record p in report.json.
func ProxyLabels(p proxy.Proxy) []string {
	labels := []string{LabelProxyMode + "=" + string(p.Mode)}
	if len(p.Broken) > 0 {
		labels = append(labels, LabelProxyBroken+"="+strings.Join(p.Broken, ","))
	}
	return labels
}

// ProxyFromLabels reads back what ProxyLabels recorded in a report's suite
// labels; ok is false for a report that has no proxy mode label (written
// by an svccheck from before the labels).
func ProxyFromLabels(labels []string) (p proxy.Proxy, ok bool) {
	for _, l := range labels {
		key, value, found := strings.Cut(l, "=")
		switch {
		case !found:
		case key == LabelProxyMode:
			p.Mode, ok = proxy.Mode(value), true
		case key == LabelProxyBroken && value != "":
			p.Broken = strings.Split(value, ",")
		}
	}
	return p, ok
}
