package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrIPVSUnsupported is returned by Create for kube-proxy's ipvs mode on a
// host whose kernel (which kind nodes share) has no IPVS.
var ErrIPVSUnsupported = errors.New("the host kernel has no IPVS")

// checkIPVS returns ErrIPVSUnsupported, saying what was looked at, when
// the kernel under root (the host's "/") has IPVS neither loaded
// (proc/net/ip_vs) nor as a module to load (lib/modules/<release>). kube-
// proxy in ipvs mode would otherwise fail on every node after the cluster
// is up ("can't use the IPVS proxier: ipvs not supported"). Hosts whose
// kernel svccheck cannot see (Docker in a VM, DOCKER_HOST) are not checked.
func checkIPVS(root, release string) error {
	if _, err := os.Stat(filepath.Join(root, "proc/net/ip_vs")); err == nil {
		return nil
	}
	modules, _ := filepath.Glob(filepath.Join(root, "lib/modules", release, "kernel/net/netfilter/ipvs/ip_vs.ko*"))
	if len(modules) > 0 {
		return nil
	}
	return fmt.Errorf("%w (no %s, no ip_vs module for kernel %s): kube-proxy's ipvs mode cannot run here; use --proxy kube-proxy or kube-proxy:nftables",
		ErrIPVSUnsupported, filepath.Join(root, "proc/net/ip_vs"), release)
}

// hostCheckIPVS is checkIPVS for this host, when Docker runs on it.
func hostCheckIPVS() error {
	if runtime.GOOS != "linux" || os.Getenv("DOCKER_HOST") != "" {
		return nil
	}
	release, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return nil // cannot tell: let kube-proxy say
	}
	return checkIPVS("/", strings.TrimSpace(string(release)))
}
