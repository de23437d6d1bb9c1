// Package nodeimage builds a kind node image without any container registry.
//
// The image is assembled from parts that can be had offline: a Debian root
// filesystem made with debootstrap (systemd, containerd, runc, iptables, CNI
// plugins), kind's node contract files read from the kind module in the Go
// module cache, Kubernetes binaries built from the k8s.io/kubernetes module,
// and etcd, CoreDNS and pause built from their Go modules. The control-plane
// images are assembled in Go and preloaded into the node's containerd, so
// kubeadm never pulls.
//
// Images are tagged with a hash of everything that goes into them, so Ensure
// builds only when Docker does not already have the image. Intermediate
// products (the root filesystem tarball, the built binaries) are cached under
// Options.CacheDir, and Go's build cache makes rebuilding binaries cheap.
package nodeimage
