package render

import (
	"fmt"
	"strings"
)

// maxCommentLen is the longest comment iptables takes, in bytes.
const maxCommentLen = 255

// commentFlag introduces a rule's comment.
const commentFlag = "--comment "

// unrenderable returns why iptables would refuse sr's rules, "" when it
// would not: a comment over maxCommentLen bytes (a Service or namespace
// name far beyond what the API server allows) fails the whole restore.
func unrenderable(sr *ServiceRules) string {
	check := func(spec string) string {
		if n := longestComment(spec); n > maxCommentLen {
			return fmt.Sprintf("port %s not programmed: a rule comment naming it would be %d bytes, over iptables' limit of %d", sr.Name, n, maxCommentLen)
		}
		return ""
	}
	for _, c := range sr.Chains {
		for _, r := range c.Rules {
			if msg := check(r); msg != "" {
				return msg
			}
		}
	}
	for _, r := range sr.Shared {
		if msg := check(r.Spec); msg != "" {
			return msg
		}
	}
	return ""
}

// longestComment returns the length in bytes of the longest comment of a
// rule spec, as iptables reads it (quotes removed, \" and \\ unescaped).
func longestComment(spec string) int {
	longest := 0
	for {
		i := strings.Index(spec, commentFlag)
		if i < 0 {
			return longest
		}
		spec = spec[i+len(commentFlag):]
		n, rest := wordLen(spec)
		longest = max(longest, n)
		spec = rest
	}
}

// wordLen returns the unquoted length of the word s starts with and what
// follows it.
func wordLen(s string) (int, string) {
	n, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			i++
			n++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ' ' || c == '\t'):
			return n, s[i:]
		default:
			n++
		}
	}
	return n, ""
}
