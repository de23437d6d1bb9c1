package iptables

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// contextLines is how many lines RestoreError shows on either side of
// the failing one.
const contextLines = 2

// RestoreError is a failed restore that iptables-restore blamed on one
// line of its input.
type RestoreError struct {
	// Line is the failing line's number, from 1.
	Line int
	// Context is the failing line and up to contextLines lines on either
	// side, each as "N: text", the failing one marked with "> ".
	Context string
	// Err is the restore's error.
	Err error
}

// Error implements error.
func (e *RestoreError) Error() string {
	return fmt.Sprintf("%v\ninput around line %d:\n%s", e.Err, e.Line, e.Context)
}

// Unwrap returns the restore's error.
func (e *RestoreError) Unwrap() error { return e.Err }

// failedLine matches how iptables-restore names the line it failed at:
// "Error occurred at line: N" (a line it could not parse), "line N
// failed" (a COMMIT, or a rule, the kernel refused) and, on iptables-nft,
// "line N: CHAIN_DEL failed".
var failedLine = regexp.MustCompile(`(?:Error occurred at line: |line )(\d+)\b`)

// FailedLine returns the input line number iptables-restore's output
// blames, 0 when it names none.
func FailedLine(output string) int {
	m := failedLine.FindStringSubmatch(output)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return n
}

// LineContext returns line n (from 1) of data and up to around lines on
// either side, each as "N: text", line n marked with "> "; "" when data
// has no line n.
func LineContext(data []byte, n, around int) string {
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if n < 1 || n > len(lines) {
		return ""
	}
	var b strings.Builder
	for i := max(1, n-around); i <= min(len(lines), n+around); i++ {
		mark := "  "
		if i == n {
			mark = "> "
		}
		fmt.Fprintf(&b, "%s%d: %s\n", mark, i, lines[i-1])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// withContext wraps err in a RestoreError when the restore's output
// names a line of data.
func withContext(err error, output string, data []byte) error {
	n := FailedLine(output)
	if n == 0 {
		return err
	}
	ctx := LineContext(data, n, contextLines)
	if ctx == "" {
		return err
	}
	return &RestoreError{Line: n, Context: ctx, Err: err}
}
