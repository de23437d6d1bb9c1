package integration

import (
	"fmt"
	"net"
	"time"
)

// DialLoop makes n TCP connections to addr from namespace ns one after the
// other, each read to the end of its answer, which must come from the echo
// server named server: a new-connection rate through a node's rules is n
// over the time it takes.
func DialLoop(ns, addr, server string, n int) error {
	return inNS(ns, func() error {
		for i := range n {
			conn, err := net.DialTimeout("tcp4", addr, 2*time.Second)
			if err != nil {
				return fmt.Errorf("connection %d to %s: %w", i, addr, err)
			}
			_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
			r, err := readReply(conn)
			_ = conn.Close()
			if err != nil || r.Server != server {
				return fmt.Errorf("connection %d to %s: answer %+v, %w; want one from %s", i, addr, r, err, server)
			}
		}
		return nil
	})
}
