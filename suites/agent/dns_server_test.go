package agent

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/dns/dnsmessage"
)

// zone is what the test DNS server knows: A and CNAME records by name, and
// SRV records by query name.
type zone struct {
	a     map[string]string
	cname map[string]string
	srv   map[string][]SRVRecord
}

// serveZone answers DNS queries over UDP on loopback from z until the test
// ends, and returns a resolver that asks it only.
func serveZone(t *testing.T, z zone) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out, err := z.answer(buf[:n]); err == nil {
				_, _ = pc.WriteTo(out, addr)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// answer builds the reply to one query: NXDOMAIN for names z does not hold.
func (z zone) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(q.Name.String())
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	rh := func(n string, typ dnsmessage.Type) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(n), Type: typ, Class: dnsmessage.ClassINET, TTL: 5}
	}
	found := false
	if target, ok := z.cname[name]; ok {
		found = true
		_ = b.CNAMEResource(rh(name, dnsmessage.TypeCNAME), dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(target)})
		name = target
	}
	switch q.Type {
	case dnsmessage.TypeA:
		if ip, ok := z.a[name]; ok {
			found = true
			_ = b.AResource(rh(name, dnsmessage.TypeA), dnsmessage.AResource{A: [4]byte(net.ParseIP(ip).To4())})
		}
	case dnsmessage.TypeSRV:
		for _, s := range z.srv[name] {
			found = true
			_ = b.SRVResource(rh(name, dnsmessage.TypeSRV), dnsmessage.SRVResource{Target: dnsmessage.MustNewName(s.Target), Port: s.Port, Weight: 10})
		}
	}
	if !found && z.a[name] == "" {
		return nxdomain(h.ID, q)
	}
	return b.Finish()
}

func nxdomain(id uint16, q dnsmessage.Question) ([]byte, error) {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, Authoritative: true, RCode: dnsmessage.RCodeNameError})
	_ = b.StartQuestions()
	_ = b.Question(q)
	return b.Finish()
}

// TestLookupTypes resolves A, SRV and CNAME records against a DNS server of
// the test's own on loopback.
func TestLookupTypes(t *testing.T) {
	r := serveZone(t, zone{
		a:     map[string]string{"web.ns.svc.cluster.local.": "10.96.0.20", "host-0.sub.ns.svc.cluster.local.": "10.244.1.5"},
		cname: map[string]string{"alias.ns.svc.cluster.local.": "web.ns.svc.cluster.local."},
		srv: map[string][]SRVRecord{"_http._tcp.sub.ns.svc.cluster.local.": {
			{Target: "host-0.sub.ns.svc.cluster.local.", Port: 8080}, {Target: "10-244-2-7.sub.ns.svc.cluster.local.", Port: 8080},
		}},
	})
	for _, tc := range []struct {
		name string
		typ  RecordType
		want DNSReport
	}{
		{"web.ns.svc.cluster.local.", TypeA, DNSReport{Addresses: []string{"10.96.0.20"}}},
		{"alias.ns.svc.cluster.local.", TypeCNAME, DNSReport{CNAME: "web.ns.svc.cluster.local.", Addresses: []string{"10.96.0.20"}}},
		{"_http._tcp.sub.ns.svc.cluster.local.", TypeSRV, DNSReport{Addresses: []string{}, SRV: []SRVRecord{
			{Target: "10-244-2-7.sub.ns.svc.cluster.local.", Port: 8080}, {Target: "host-0.sub.ns.svc.cluster.local.", Port: 8080},
		}}},
		{"gone.ns.svc.cluster.local.", TypeA, DNSReport{Addresses: []string{}, NotFound: true}},
	} {
		t.Run(string(tc.typ)+" "+tc.name, func(t *testing.T) {
			got, err := Lookup(context.Background(), r, tc.name, tc.typ, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Name, tc.want.Type = tc.name, tc.typ
			if tc.want.NotFound {
				tc.want.Error = got.Error
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Lookup (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRecordType(t *testing.T) {
	for in, want := range map[string]RecordType{"a": TypeA, "SRV": TypeSRV, "cname": TypeCNAME} {
		if got, err := ParseRecordType(in); err != nil || got != want {
			t.Errorf("ParseRecordType(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	if _, err := ParseRecordType("MX"); err == nil {
		t.Error("ParseRecordType(MX) succeeded")
	}
}
