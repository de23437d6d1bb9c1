package ipsave

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that the parser never panics and that whatever it
// accepts prints to text that parses back to the same model, both as a
// script and as a dump.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.save")
	more, _ := filepath.Glob("testdata/*.restore")
	for _, name := range append(files, more...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		// Small seeds fuzz faster: one table block per rule line.
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "-A ") || strings.HasPrefix(line, "[") {
				f.Add([]byte("*filter\n:SVCCHK-X - [0:0]\n" + line + "\nCOMMIT\n"))
			}
		}
	}
	f.Add([]byte("*nat\n:X - [0:0]\n-I X 1 -p tcp --dport 1:2 -j RETURN\n-D X 1\n-X X\nCOMMIT\n"))
	f.Add([]byte("*filter\n-A INPUT -m statistic --mode random --probability 0.1 -m recent --set -j DROP\nCOMMIT\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseScript(data)
		if err != nil {
			return
		}
		text := s.String()
		s2, err := ParseScript([]byte(text))
		if err != nil {
			t.Fatalf("printed script does not parse: %v\n%s", err, text)
		}
		if !cmp.Equal(s, s2, ignorePos) {
			t.Fatalf("script round trip (-want +got):\n%s\nprinted:\n%s", cmp.Diff(s, s2, ignorePos), text)
		}
		d, err := Parse(data)
		if err != nil {
			return
		}
		dtext := d.String()
		d2, err := Parse([]byte(dtext))
		if err != nil {
			t.Fatalf("printed dump does not parse: %v\n%s", err, dtext)
		}
		if !cmp.Equal(d, d2, ignorePos) {
			t.Fatalf("dump round trip (-want +got):\n%s\nprinted:\n%s", cmp.Diff(d, d2, ignorePos), dtext)
		}
	})
}
