package explain

import (
	"fmt"
	"net/netip"
	"strings"
)

// SourceKind is where a traced connection starts.
type SourceKind string

// Kinds of source.
const (
	// FromPod is a pod: the packet enters its node from the pod's side.
	FromPod SourceKind = "pod"
	// FromNode is a process in a node's own network namespace.
	FromNode SourceKind = "node"
	// FromExternal is a client outside the cluster reaching a node.
	FromExternal SourceKind = "external"
)

// Target is where the connection goes: an address, a port and a protocol.
type Target struct {
	Addr     netip.Addr
	Port     uint16
	Protocol string
}

// String formats t as "IP:PORT/proto".
func (t Target) String() string {
	return netip.AddrPortFrom(t.Addr, t.Port).String() + "/" + t.Protocol
}

// ParseTarget parses "IP:PORT[/tcp|udp|sctp]"; the protocol defaults to
// tcp.
func ParseTarget(s string) (Target, error) {
	hostPort, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return Target{}, fmt.Errorf("bad --to %q: protocol must be tcp, udp or sctp, got %q", s, proto)
	}
	ap, err := netip.ParseAddrPort(hostPort)
	if err != nil {
		return Target{}, fmt.Errorf("bad --to %q: want IP:PORT[/tcp|udp|sctp]: %w", s, err)
	}
	if ap.Port() == 0 {
		return Target{}, fmt.Errorf("bad --to %q: port 0", s)
	}
	if !ap.Addr().Unmap().Is4() {
		return Target{}, fmt.Errorf("bad --to %q: only IPv4 is explained (the dumps hold iptables, not ip6tables)", s)
	}
	return Target{Addr: ap.Addr().Unmap(), Port: ap.Port(), Protocol: proto}, nil
}

// Source is where the connection starts, resolved to an address and the
// node whose tables the first packet walks.
type Source struct {
	Kind SourceKind
	// Name is the pod's "namespace/name", the node's name or the external
	// address, as given.
	Name string
	// Addr is the source address.
	Addr netip.Addr
	// Node is the node whose tables the packet walks first.
	Node string
}

// String describes the source, e.g. "pod web/client (10.244.1.7)".
func (s Source) String() string {
	if s.Kind == FromExternal {
		return "external " + s.Addr.String()
	}
	return fmt.Sprintf("%s %s (%s)", s.Kind, s.Name, s.Addr)
}
