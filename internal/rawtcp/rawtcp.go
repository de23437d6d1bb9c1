// Package rawtcp writes and reads single IPv4 TCP segments through raw
// sockets: enough to inject a segment a kernel's TCP stack would never send
// (one outside a connection's window, say) and to see every segment that
// reaches a network namespace's own addresses. Linux only; needs
// CAP_NET_RAW.
package rawtcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// TCP flags of a Segment.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// Segment is one IPv4 TCP segment, options left out.
type Segment struct {
	// Src and Dst are the IPv4 addresses.
	Src, Dst netip.Addr
	// SrcPort and DstPort are the TCP ports.
	SrcPort, DstPort uint16
	// Seq and Ack are the sequence and acknowledgement numbers.
	Seq, Ack uint32
	// Flags are the TCP flags (FIN, SYN, ...).
	Flags uint8
	// Window is the advertised window, unscaled.
	Window uint16
	// Payload is the data.
	Payload []byte
}

// String describes s briefly, as tcpdump would.
func (s Segment) String() string {
	return fmt.Sprintf("%s:%d > %s:%d flags %#02x seq %d ack %d len %d",
		s.Src, s.SrcPort, s.Dst, s.DstPort, s.Flags, s.Seq, s.Ack, len(s.Payload))
}

// Encode returns s as an IPv4 packet with a correct TCP checksum, for a
// raw socket with IP_HDRINCL (the kernel fills in the IP checksum).
func (s Segment) Encode() []byte {
	const ipLen, tcpLen = 20, 20
	b := make([]byte, ipLen+tcpLen+len(s.Payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[6:], 0x4000) // DF
	b[8], b[9] = 64, unix.IPPROTO_TCP
	src, dst := s.Src.As4(), s.Dst.As4()
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	t := b[ipLen:]
	binary.BigEndian.PutUint16(t[0:], s.SrcPort)
	binary.BigEndian.PutUint16(t[2:], s.DstPort)
	binary.BigEndian.PutUint32(t[4:], s.Seq)
	binary.BigEndian.PutUint32(t[8:], s.Ack)
	t[12] = tcpLen / 4 << 4
	t[13] = s.Flags
	binary.BigEndian.PutUint16(t[14:], s.Window)
	copy(t[tcpLen:], s.Payload)
	binary.BigEndian.PutUint16(t[16:], Checksum(src, dst, t))
	return b
}

// Checksum is the TCP checksum of segment t between src and dst: the
// ones' complement of the ones' complement sum over the pseudo-header and
// t. Over a segment whose checksum field is set right it is 0.
func Checksum(src, dst [4]byte, t []byte) uint16 {
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

// Decode parses an IPv4 packet carrying TCP, as a raw IPPROTO_TCP socket
// receives it.
func Decode(b []byte) (Segment, error) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return Segment{}, errors.New("not an IPv4 packet")
	}
	ihl := int(b[0]&0x0f) * 4
	if b[9] != unix.IPPROTO_TCP || ihl < 20 || len(b) < ihl+20 {
		return Segment{}, errors.New("not a TCP segment")
	}
	t := b[ihl:]
	off := int(t[12]>>4) * 4
	if off < 20 || len(t) < off {
		return Segment{}, errors.New("bad TCP data offset")
	}
	return Segment{
		Src:     netip.AddrFrom4([4]byte(b[12:16])),
		Dst:     netip.AddrFrom4([4]byte(b[16:20])),
		SrcPort: binary.BigEndian.Uint16(t[0:]),
		DstPort: binary.BigEndian.Uint16(t[2:]),
		Seq:     binary.BigEndian.Uint32(t[4:]),
		Ack:     binary.BigEndian.Uint32(t[8:]),
		Flags:   t[13],
		Window:  binary.BigEndian.Uint16(t[14:]),
		Payload: append([]byte(nil), t[off:]...),
	}, nil
}

// Send sends s through a raw socket of the calling thread's network
// namespace, routed like any packet of that namespace.
func Send(s Segment) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return fmt.Errorf("opening a raw socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, s.Encode(), 0, &unix.SockaddrInet4{Addr: s.Dst.As4()}); err != nil {
		return fmt.Errorf("sending %v: %w", s, err)
	}
	return nil
}

// Capture is a raw socket that sees a copy of every TCP segment delivered
// to its network namespace's own addresses.
type Capture struct {
	fd  int
	buf []byte
}

// Listen opens a Capture in the calling thread's network namespace; the
// socket stays in that namespace.
func Listen() (*Capture, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("opening a raw TCP socket: %w", err)
	}
	return &Capture{fd: fd, buf: make([]byte, 65536)}, nil
}

// Next returns the next segment received within timeout; ok is false when
// none came. Packets that are not TCP segments are skipped.
func (c *Capture) Next(timeout time.Duration) (s Segment, ok bool, err error) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		tv := unix.NsecToTimeval(max(time.Until(deadline), time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return s, false, fmt.Errorf("setting the capture's timeout: %w", err)
		}
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return s, false, fmt.Errorf("reading the capture: %w", err)
		}
		if s, err := Decode(c.buf[:n]); err == nil {
			return s, true, nil
		}
	}
	return s, false, nil
}

// Close closes the socket.
func (c *Capture) Close() error { return unix.Close(c.fd) }
