//go:build !linux

package conntrack

import (
	"context"
	"errors"
)

// DeleteFlows implements Interface: conntrack is Linux's, so it fails.
func (n *Netlink) DeleteFlows(context.Context, bool, func(Flow) bool) (int, error) {
	return 0, errors.New("deleting conntrack flows: only supported on Linux")
}
