package ipsave

import (
	"net/netip"
	"strings"
	"testing"
)

// TestAddressMask parses -d with a mask that is not a prefix, prints it
// back as iptables-save does and matches addresses by the masked bits.
func TestAddressMask(t *testing.T) {
	tests := []struct {
		spec, want string
		in, out    []string
	}{
		{"-d 0.0.0.95/0.0.0.127 -j X", "-d 0.0.0.95/0.0.0.127 -j X", []string{"10.96.0.95", "10.96.1.95", "10.96.2.223"}, []string{"10.96.0.94", "10.96.0.96"}},
		{"-d 10.1.7.5/255.255.0.127 -j X", "-d 10.1.0.5/255.255.0.127 -j X", []string{"10.1.200.133"}, []string{"10.2.0.5", "10.1.0.6"}},
		{"-d 10.1.2.3/255.255.0.0 -j X", "-d 10.1.0.0/16 -j X", []string{"10.1.9.9"}, []string{"10.2.0.0"}},
		{"-d ::5f/::7f -j X", "-d ::5f/::7f -j X", []string{"fd00::15f", "fd00::df"}, []string{"fd00::5e", "10.0.0.95"}},
	}
	for _, tc := range tests {
		r, err := ParseRule(strings.Fields(tc.spec)...)
		if err != nil {
			t.Fatalf("parsing %q: %v", tc.spec, err)
		}
		if got := r.String(); got != tc.want {
			t.Errorf("%q printed as %q, want %q", tc.spec, got, tc.want)
		}
		for _, a := range tc.in {
			if ok, err := AddrMatches(r.Destination.CIDR, netip.MustParseAddr(a)); err != nil || !ok {
				t.Errorf("%s does not match %s (%v)", tc.want, a, err)
			}
		}
		for _, a := range tc.out {
			if ok, err := AddrMatches(r.Destination.CIDR, netip.MustParseAddr(a)); err != nil || ok {
				t.Errorf("%s matches %s (%v)", tc.want, a, err)
			}
		}
	}
	for _, bad := range []string{"-d 10.0.0.1/::7f -j X", "-d 10.0.0.1/0.0.0.x -j X"} {
		if _, err := ParseRule(strings.Fields(bad)...); err == nil {
			t.Errorf("ParseRule(%q) succeeded", bad)
		}
	}
}
