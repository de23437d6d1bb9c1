package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// RecordType is the kind of DNS record a lookup asks for.
type RecordType string

// The record types `svccheck agent dns` looks up.
const (
	// TypeA asks for IPv4 addresses.
	TypeA RecordType = "A"
	// TypeSRV asks for SRV records; the name is queried as given, so it
	// carries its own _service._proto labels.
	TypeSRV RecordType = "SRV"
	// TypeCNAME asks for the canonical name (the target of a CNAME chain)
	// and the A records at its end.
	TypeCNAME RecordType = "CNAME"
)

// ParseRecordType parses a --type value.
func ParseRecordType(s string) (RecordType, error) {
	switch t := RecordType(strings.ToUpper(s)); t {
	case TypeA, TypeSRV, TypeCNAME:
		return t, nil
	}
	return "", fmt.Errorf("unknown record type %q (want A, SRV or CNAME)", s)
}

// SRVRecord is one SRV record.
type SRVRecord struct {
	// Target is the host the record names, fully qualified.
	Target string `json:"target"`
	// Port is the record's port.
	Port uint16 `json:"port"`
}

// DNSReport is the outcome of a DNS lookup: `svccheck agent dns --json`
// prints it.
type DNSReport struct {
	// Name is the name looked up.
	Name string `json:"name"`
	// Type is the record type asked for.
	Type RecordType `json:"type,omitempty"`
	// Addresses are the IPv4 addresses (A records) found, sorted; for a
	// CNAME lookup, those of the canonical name.
	Addresses []string `json:"addresses"`
	// SRV are the SRV records found, sorted by target and port.
	SRV []SRVRecord `json:"srv,omitempty"`
	// CNAME is the canonical name, fully qualified, for a CNAME lookup.
	CNAME string `json:"cname,omitempty"`
	// NotFound reports an NXDOMAIN or a name with no records of the type.
	NotFound bool `json:"notFound,omitempty"`
	// Error is the failure's message, if the lookup failed.
	Error string `json:"error,omitempty"`
}

// LookupA resolves name to its A records with the resolver of the system
// (in a pod: the cluster DNS from /etc/resolv.conf), within timeout. A name
// that does not exist is reported in the DNSReport, not as an error; the
// error is for a cancelled ctx. A name without a trailing dot goes through
// the search path of resolv.conf, as any program's lookup does.
func LookupA(ctx context.Context, name string, timeout time.Duration) (DNSReport, error) {
	return Lookup(ctx, net.DefaultResolver, name, TypeA, timeout)
}

// Lookup resolves name for records of type typ with r, within timeout, as
// LookupA does.
func Lookup(ctx context.Context, r *net.Resolver, name string, typ RecordType, timeout time.Duration) (DNSReport, error) {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep := DNSReport{Name: name, Type: typ, Addresses: []string{}}
	var err error
	switch typ {
	case TypeA, "":
		rep.Addresses, err = lookupIPv4(lctx, r, name)
	case TypeSRV:
		rep.SRV, err = lookupSRV(lctx, r, name)
	case TypeCNAME:
		rep.CNAME, err = r.LookupCNAME(lctx, name)
		if err == nil {
			rep.Addresses, err = lookupIPv4(lctx, r, rep.CNAME)
		}
	default:
		return rep, fmt.Errorf("looking up %s: unknown record type %q", name, typ)
	}
	if err != nil {
		if ctx.Err() != nil {
			return rep, fmt.Errorf("looking up %s: %w", name, ctx.Err())
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			rep.NotFound = true
		}
		rep.Error = err.Error()
	}
	if rep.Addresses == nil {
		rep.Addresses = []string{}
	}
	return rep, nil
}

func lookupIPv4(ctx context.Context, r *net.Resolver, name string) ([]string, error) {
	ips, err := r.LookupIP(ctx, "ip4", name)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	slices.Sort(out)
	return out, nil
}

func lookupSRV(ctx context.Context, r *net.Resolver, name string) ([]SRVRecord, error) {
	_, srvs, err := r.LookupSRV(ctx, "", "", name)
	if err != nil {
		return nil, err
	}
	out := make([]SRVRecord, 0, len(srvs))
	for _, s := range srvs {
		out = append(out, SRVRecord{Target: s.Target, Port: s.Port})
	}
	slices.SortFunc(out, func(a, b SRVRecord) int {
		if c := strings.Compare(a.Target, b.Target); c != 0 {
			return c
		}
		return int(a.Port) - int(b.Port)
	})
	return out, nil
}
