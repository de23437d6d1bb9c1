package render

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

func TestZZExp(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	services, slices := genCluster(10000, 10)
	if os.Getenv("EXP") == "local" {
		node := testNode
		for _, sl := range slices {
			sl.Endpoints[0].NodeName = &node
		}
	}
	rs := Render(Config{}, build(t, services, slices))
	b := iptables.BackendNFT
	ns := newScratch(t)
	timed := func(name string, text []byte) {
		start := time.Now()
		if err := ns.restore(b, text, false); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%-40s %6.2fs (%d bytes)", name, time.Since(start).Seconds(), len(text))
	}
	first, _ := WriteFullBatched(rs, nil, 1000)
	timed("first load batched", first)
	saved, _ := ns.save(b)
	e := chainsOnly(existingState(t, saved))
	start := time.Now()
	_, _ = ns.save(b)
	t.Logf("save both tables %.2fs", time.Since(start).Seconds())
	for _, bs := range []int{1000, 4000, 250} {
		text, _ := WriteFullBatched(rs, e, bs)
		timed(fmt.Sprintf("rewrite batched %d", bs), text)
	}
	// two phases: flush every port chain first, then fill.
	text, _ := WriteFullBatched(rs, e, 1000)
	var flush, fill bytes.Buffer
	for _, blk := range strings.SplitAfter(string(text), "COMMIT\n") {
		if blk == "" {
			continue
		}
		var decl, rules []string
		for _, l := range strings.Split(strings.TrimSuffix(blk, "COMMIT\n"), "\n") {
			switch {
			case strings.HasPrefix(l, ":"):
				decl = append(decl, l)
			case strings.HasPrefix(l, "-"):
				rules = append(rules, l)
			}
		}
		tbl := strings.SplitN(blk, "\n", 2)[0]
		flush.WriteString(tbl + "\n" + strings.Join(decl, "\n") + "\nCOMMIT\n")
		fill.WriteString(tbl + "\n" + strings.Join(rules, "\n") + "\nCOMMIT\n")
	}
	timed("flush only (all declared)", flush.Bytes())
	timed("fill after flush", fill.Bytes())
	timed("rewrite batched 1000 again", text)
	// delete via -F chain explicitly
	var fl bytes.Buffer
	fl.WriteString("*nat\n")
	for _, sr := range rs.Services {
		for _, c := range sr.Chains {
			fl.WriteString("-F " + c.Name + "\n")
		}
	}
	fl.WriteString("COMMIT\n")
	timed("-F every port chain, one tx", fl.Bytes())
	timed("fill after -F", fill.Bytes())
}
