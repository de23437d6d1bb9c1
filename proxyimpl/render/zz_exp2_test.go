package render

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

func TestZZExp2(t *testing.T) {
	if os.Getenv("EXP2") == "" {
		t.Skip()
	}
	services, slices := genCluster(10000, 10)
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
	tamper := func() {
		var text bytes.Buffer
		n := 0
		for _, sr := range rs.Services {
			for _, c := range sr.Chains {
				if n%1000 == 0 {
					text.WriteString("*nat\n")
				}
				fmt.Fprintf(&text, "-A %s -m comment --comment tampered -j RETURN\n", c.Name)
				n++
				if n%1000 == 0 {
					text.WriteString("COMMIT\n")
				}
			}
		}
		if n%1000 != 0 {
			text.WriteString("COMMIT\n")
		}
		timed("tamper", text.Bytes())
	}
	for i := 0; i < 2; i++ {
		tamper()
		saved, _ := ns.save(b)
		e := existingState(t, saved)
		text, st := WriteFullBatched(rs, e, 1000)
		t.Logf("stats %+v", st)
		timed("rewrite tampered port chains", text)
	}
	saved, _ := ns.save(b)
	text, _ := WriteFullBatched(rs, chainsOnly(existingState(t, saved)), 1000)
	timed("rewrite everything", text)
}
