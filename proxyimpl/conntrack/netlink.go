package conntrack

// Netlink implements Interface over the kernel's conntrack netlink
// interface (nfnetlink_conntrack), as kube-proxy does: no conntrack binary
// is run and no output is parsed. It needs CAP_NET_ADMIN in the network
// namespace it works in.
type Netlink struct {
	// nsPath is the network namespace file to work in, or "" for the
	// calling process's own.
	nsPath string
}

var _ Interface = (*Netlink)(nil)

// New returns a Netlink working in the calling process's network
// namespace.
func New() *Netlink { return &Netlink{} }

// NewInNamespace returns a Netlink working in the network namespace whose
// file is path (e.g. /run/netns/NAME), whatever namespace the caller is in.
func NewInNamespace(path string) *Netlink { return &Netlink{nsPath: path} }
