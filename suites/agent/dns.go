package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"
)

// DNSReport is the outcome of a DNS lookup: `svccheck agent dns --json`
// prints it.
type DNSReport struct {
	// Name is the name looked up.
	Name string `json:"name"`
	// Addresses are the IPv4 addresses (A records) found, sorted.
	Addresses []string `json:"addresses"`
	// NotFound reports an NXDOMAIN or a name with no A records.
	NotFound bool `json:"notFound,omitempty"`
	// Error is the failure's message, if the lookup failed.
	Error string `json:"error,omitempty"`
}

// LookupA resolves name to its A records with the resolver of the system
// (in a pod: the cluster DNS from /etc/resolv.conf), within timeout. A name
// that does not exist is reported in the DNSReport, not as an error; the
// error is for a cancelled ctx.
func LookupA(ctx context.Context, name string, timeout time.Duration) (DNSReport, error) {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep := DNSReport{Name: name, Addresses: []string{}}
	ips, err := net.DefaultResolver.LookupIP(lctx, "ip4", name)
	if err != nil {
		if ctx.Err() != nil {
			return rep, fmt.Errorf("looking up %s: %w", name, ctx.Err())
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			rep.NotFound = true
		}
		rep.Error = err.Error()
		return rep, nil
	}
	for _, ip := range ips {
		rep.Addresses = append(rep.Addresses, ip.String())
	}
	slices.Sort(rep.Addresses)
	return rep, nil
}
