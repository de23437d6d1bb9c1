package integration

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TCP flags of a segment.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

// segment is one IPv4 TCP segment, options left out.
type segment struct {
	src, dst     netip.Addr
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	window       uint16
	payload      []byte
}

// String describes s as tcpdump would, briefly.
func (s segment) String() string {
	return fmt.Sprintf("%s:%d > %s:%d flags %#02x seq %d ack %d len %d",
		s.src, s.sport, s.dst, s.dport, s.flags, s.seq, s.ack, len(s.payload))
}

// encode returns s as an IPv4 packet with a correct TCP checksum, for a
// raw socket with IP_HDRINCL (the kernel fills in the IP checksum).
func (s segment) encode() []byte {
	const ipLen, tcpLen = 20, 20
	b := make([]byte, ipLen+tcpLen+len(s.payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[6:], 0x4000) // DF
	b[8], b[9] = 64, unix.IPPROTO_TCP
	src, dst := s.src.As4(), s.dst.As4()
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	t := b[ipLen:]
	binary.BigEndian.PutUint16(t[0:], s.sport)
	binary.BigEndian.PutUint16(t[2:], s.dport)
	binary.BigEndian.PutUint32(t[4:], s.seq)
	binary.BigEndian.PutUint32(t[8:], s.ack)
	t[12] = tcpLen / 4 << 4
	t[13] = s.flags
	binary.BigEndian.PutUint16(t[14:], s.window)
	copy(t[tcpLen:], s.payload)
	binary.BigEndian.PutUint16(t[16:], tcpChecksum(src, dst, t))
	return b
}

// tcpChecksum is the TCP checksum of segment t (checksum field zero)
// between src and dst: the ones' complement sum over the pseudo-header
// and the segment.
func tcpChecksum(src, dst [4]byte, t []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += unix.IPPROTO_TCP + uint32(len(t))
	add(t)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// decodeSegment parses an IPv4 packet carrying TCP, as a raw IPPROTO_TCP
// socket receives it.
func decodeSegment(b []byte) (segment, error) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return segment{}, errors.New("not an IPv4 packet")
	}
	ihl := int(b[0]&0x0f) * 4
	if b[9] != unix.IPPROTO_TCP || len(b) < ihl+20 {
		return segment{}, errors.New("not a TCP segment")
	}
	t := b[ihl:]
	off := int(t[12]>>4) * 4
	if off < 20 || len(t) < off {
		return segment{}, errors.New("bad TCP data offset")
	}
	return segment{
		src:     netip.AddrFrom4([4]byte(b[12:16])),
		dst:     netip.AddrFrom4([4]byte(b[16:20])),
		sport:   binary.BigEndian.Uint16(t[0:]),
		dport:   binary.BigEndian.Uint16(t[2:]),
		seq:     binary.BigEndian.Uint32(t[4:]),
		ack:     binary.BigEndian.Uint32(t[8:]),
		flags:   t[13],
		window:  binary.BigEndian.Uint16(t[14:]),
		payload: append([]byte(nil), t[off:]...),
	}, nil
}

// tcpCapture is a raw socket inside a namespace that sees a copy of every
// TCP segment delivered to that namespace's own addresses.
type tcpCapture struct {
	fd int
}

// openCapture opens a capture inside namespace ns, closed at test end.
func openCapture(t *testing.T, ns string) *tcpCapture {
	t.Helper()
	fd := -1
	err := inNS(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		return err
	})
	if err != nil {
		t.Fatalf("opening a raw TCP socket in %s: %v", ns, err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	return &tcpCapture{fd: fd}
}

// find returns the first segment received within budget that match
// accepts; ok is false when none came.
func (c *tcpCapture) find(t *testing.T, budget time.Duration, match func(segment) bool) (segment, bool) {
	t.Helper()
	buf := make([]byte, 65536)
	for deadline := time.Now().Add(budget); time.Now().Before(deadline); {
		tv := unix.NsecToTimeval(max(time.Until(deadline), time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			t.Fatalf("setting the capture's timeout: %v", err)
		}
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("reading the capture: %v", err)
		}
		if s, err := decodeSegment(buf[:n]); err == nil && match(s) {
			return s, true
		}
	}
	return segment{}, false
}

// inject sends s from inside namespace ns through a raw socket, routed
// like any packet of that namespace.
func inject(t *testing.T, ns string, s segment) {
	t.Helper()
	err := inNS(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, s.encode(), 0, &unix.SockaddrInet4{Addr: s.dst.As4()})
	})
	if err != nil {
		t.Fatalf("injecting %v from %s: %v", s, ns, err)
	}
}

// TestSegmentRoundTrip checks the segment codec the raw-packet tests rely
// on: what encode writes, decodeSegment reads back, and the TCP checksum
// over the pseudo-header and the written segment sums to zero.
func TestSegmentRoundTrip(t *testing.T) {
	s := segment{
		src: netip.MustParseAddr("10.212.1.3"), dst: netip.MustParseAddr("10.212.1.2"),
		sport: 9000, dport: 45422, seq: 3324737421, ack: 2852403157,
		flags: tcpPSH | tcpACK, window: 502, payload: []byte("odd length"),
	}
	b := s.encode()
	got, err := decodeSegment(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != s.String() || got.window != s.window || !bytes.Equal(got.payload, s.payload) {
		t.Errorf("decodeSegment(encode(%v)) = %v", s, got)
	}
	if sum := tcpChecksum(s.src.As4(), s.dst.As4(), b[20:]); sum != 0 {
		t.Errorf("checksum over the encoded segment = %#04x, want 0", sum)
	}
}
