package ipsave

import (
	"errors"
	"strings"
)

// SplitWords splits a line into words the way iptables-restore does:
// whitespace-separated, with double quotes grouping words and backslash
// escaping a quote or backslash inside them. It reads rule specs as
// iptables-save prints them, so a quoted comment stays one word.
func SplitWords(line string) ([]string, error) {
	if !strings.ContainsAny(line, "\"\\") {
		return strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' }), nil
	}
	var words []string
	var w strings.Builder
	inWord, inQuote := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\'):
			i++
			w.WriteByte(line[i])
		case c == '"':
			inQuote = !inQuote
			inWord = true
		case !inQuote && (c == ' ' || c == '\t'):
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
