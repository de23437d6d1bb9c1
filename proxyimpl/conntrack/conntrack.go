package conntrack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	osexec "os/exec"
	"strconv"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"
)

// ErrNotFound is returned (wrapped) by Exec when the conntrack binary is not
// installed. Callers usually log it once and carry on: a missing binary only
// means stale UDP flows are not cleaned up.
var ErrNotFound = errors.New("conntrack binary not found")

// Interface deletes UDP conntrack entries. Addresses are IPv4 or IPv6; an
// entry that does not exist is not an error.
type Interface interface {
	// ClearServicePort deletes entries whose original destination is
	// vip:port, e.g. flows answered with "no endpoints" before the Service's
	// first endpoint appeared.
	ClearServicePort(ctx context.Context, vip netip.Addr, port int) error
	// ClearNodePort deletes entries whose original destination port is the
	// node port port (any destination address of the node's family ipv6).
	ClearNodePort(ctx context.Context, port int, ipv6 bool) error
	// ClearNAT deletes entries whose original destination is vip and that
	// were DNATed to endpoint.
	ClearNAT(ctx context.Context, vip, endpoint netip.Addr) error
	// ClearNodePortNAT deletes entries whose original destination port is
	// the node port port and that were DNATed to endpoint.
	ClearNodePortNAT(ctx context.Context, port int, endpoint netip.Addr) error
}

// Exec implements Interface by running the conntrack tool.
type Exec struct {
	cmder exec.Cmder
}

var _ Interface = (*Exec)(nil)

// New returns an Exec that runs conntrack through cmder.
func New(cmder exec.Cmder) *Exec {
	return &Exec{cmder: cmder}
}

// ClearServicePort implements Interface.
func (e *Exec) ClearServicePort(ctx context.Context, vip netip.Addr, port int) error {
	return e.run(ctx, family(vip.Is6()), "--orig-dst", vip.String(), "--orig-port-dst", strconv.Itoa(port))
}

// ClearNodePort implements Interface.
func (e *Exec) ClearNodePort(ctx context.Context, port int, ipv6 bool) error {
	return e.run(ctx, family(ipv6), "--orig-port-dst", strconv.Itoa(port))
}

// ClearNAT implements Interface.
func (e *Exec) ClearNAT(ctx context.Context, vip, endpoint netip.Addr) error {
	return e.run(ctx, family(vip.Is6()), "--orig-dst", vip.String(), "--dst-nat", endpoint.String())
}

// ClearNodePortNAT implements Interface.
func (e *Exec) ClearNodePortNAT(ctx context.Context, port int, endpoint netip.Addr) error {
	return e.run(ctx, family(endpoint.Is6()), "--orig-port-dst", strconv.Itoa(port), "--dst-nat", endpoint.String())
}

// Args returns the conntrack arguments (without the program name) Exec
// uses to delete UDP entries matching filter, in family "ipv4" or "ipv6".
func Args(fam string, filter ...string) []string {
	args := []string{"-D", "-p", "udp", "-f", fam}
	return append(args, filter...)
}

func family(ipv6 bool) string {
	if ipv6 {
		return "ipv6"
	}
	return "ipv4"
}

// noEntries is what conntrack prints (exiting 1) when nothing matched.
const noEntries = "0 flow entries have been deleted"

func (e *Exec) run(ctx context.Context, fam string, filter ...string) error {
	args := Args(fam, filter...)
	err := e.cmder.CommandContext(ctx, "conntrack", args...).Run()
	if err == nil {
		return nil
	}
	var runErr *exec.RunError
	if errors.As(err, &runErr) {
		if strings.Contains(string(runErr.Output), noEntries) {
			return nil
		}
		if errors.Is(runErr.Inner, osexec.ErrNotFound) || notFoundOutput(runErr.Output) {
			return fmt.Errorf("running conntrack %s: %w", strings.Join(args, " "), ErrNotFound)
		}
		return fmt.Errorf("running conntrack %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(runErr.Output)))
	}
	if errors.Is(err, osexec.ErrNotFound) {
		return fmt.Errorf("running conntrack %s: %w", strings.Join(args, " "), ErrNotFound)
	}
	return fmt.Errorf("running conntrack %s: %w", strings.Join(args, " "), err)
}

// notFoundOutput recognises a shell or chroot reporting a missing binary,
// which is how a missing conntrack shows through a chroot or a kind node.
func notFoundOutput(out []byte) bool {
	s := string(out)
	return strings.Contains(s, "conntrack: not found") ||
		strings.Contains(s, "conntrack: command not found") ||
		strings.Contains(s, "failed to run command 'conntrack'") ||
		strings.Contains(s, "\"conntrack\": executable file not found")
}
