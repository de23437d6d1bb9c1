package render

import (
	"math"
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
		p[n] = formatProbability(n)
	}
	return p
}()

// probability formats the statistic match probability of picking one of n
// remaining endpoints (n > 1).
func probability(n int) string {
	if n < len(probabilities) {
		return probabilities[n]
	}
	return formatProbability(n)
}

// formatProbability returns 1/n as iptables-save prints it: the statistic
// match keeps lround(p * 2^31) and prints that over 2^31 with eleven
// decimals. Rendering the same text lets a full sync recognise the rule
// in iptables-save output.
func formatProbability(n int) string {
	const scale = 1 << 31
	k := math.Round(scale / float64(n))
	return strconv.FormatFloat(k/scale, 'f', 11, 64)
}
