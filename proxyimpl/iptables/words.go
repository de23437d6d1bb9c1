package iptables

import "github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"

// SplitWords splits a line into words the way iptables-restore does; see
// ipsave.SplitWords.
func SplitWords(line string) ([]string, error) {
	return ipsave.SplitWords(line)
}
