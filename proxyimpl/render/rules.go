package render

import (
	"strconv"
	"strings"
)

// quote returns s in double quotes, as iptables-save prints comments.
func quote(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return strconv.Quote(s)
		}
	}
	return `"` + s + `"`
}

// ruleBuilder assembles one rule spec in iptables-save order: addresses and
// protocol first, then matches, then the target.
type ruleBuilder struct {
	b strings.Builder
}

// add appends words separated by spaces.
func (rb *ruleBuilder) add(words ...string) *ruleBuilder {
	if rb.b.Cap() == 0 {
		rb.b.Grow(160)
	}
	for _, w := range words {
		if rb.b.Len() > 0 {
			rb.b.WriteByte(' ')
		}
		rb.b.WriteString(w)
	}
	return rb
}

// String returns the spec.
func (rb *ruleBuilder) String() string { return rb.b.String() }

// probabilities caches the formatted probabilities of the first endpoints.
var probabilities = func() []string {
	p := make([]string, 64)
	for n := 2; n < len(p); n++ {
		p[n] = strconv.FormatFloat(1.0/float64(n), 'f', 10, 64)
	}
	return p
}()

// probability formats the statistic match probability of picking one of n
// remaining endpoints (n > 1), with ten decimals as kube-proxy does.
func probability(n int) string {
	if n < len(probabilities) {
		return probabilities[n]
	}
	return strconv.FormatFloat(1.0/float64(n), 'f', 10, 64)
}
