package iptables

import (
	"context"
	"errors"
	"fmt"
	osexec "os/exec"
	"strings"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
	"sigs.k8s.io/kind/pkg/exec"
)

// hintChains are chains kubelet creates in the backend it uses; finding
// one settles the question, as in Kubernetes' iptables-wrapper.
var hintChains = []Chain{"KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"}

// backendState is what one backend's save tools showed.
type backendState struct {
	installed bool
	rules     int
	hint      bool
	err       error
}

// DetectBackend picks the backend the host already uses, the way
// Kubernetes' iptables-wrapper does: a kubelet hint chain decides; else
// the backend with more rules (IPv4 and IPv6) wins, nft on a tie. A
// backend whose tools are missing counts as unused; with neither
// installed the error says to install iptables.
func DetectBackend(ctx context.Context, cmder exec.Cmder) (Backend, error) {
	nft := inspect(ctx, cmder, BackendNFT)
	legacy := inspect(ctx, cmder, BackendLegacy)
	switch {
	case !nft.installed && !legacy.installed:
		return "", fmt.Errorf("detecting iptables backend: neither iptables-nft-save nor iptables-legacy-save found: install iptables")
	case nft.err != nil && legacy.err != nil:
		return "", fmt.Errorf("detecting iptables backend: %w", errors.Join(nft.err, legacy.err))
	case nft.hint:
		return BackendNFT, nil
	case legacy.hint:
		return BackendLegacy, nil
	case legacy.rules > nft.rules:
		return BackendLegacy, nil
	case nft.installed && nft.err == nil:
		return BackendNFT, nil
	}
	return BackendLegacy, nil
}

// inspect runs the backend's iptables-save and ip6tables-save.
func inspect(ctx context.Context, cmder exec.Cmder, b Backend) backendState {
	var st backendState
	for _, tool := range []string{"iptables-" + string(b) + "-save", "ip6tables-" + string(b) + "-save"} {
		out, err := run(ctx, cmder, nil, tool)
		if err != nil {
			if !notInstalled(err) && !strings.HasPrefix(tool, "ip6") {
				st.installed = true
				st.err = err
			}
			continue
		}
		st.installed = true
		sum := ipsave.Summarize(out)
		st.rules += sum.Rules
		for _, h := range hintChains {
			st.hint = st.hint || sum.HasChain(h)
		}
	}
	return st
}

// notInstalled reports whether err means the command does not exist: not
// found on PATH, or the shell and container runtimes' 126/127 statuses.
func notInstalled(err error) bool {
	if errors.Is(innerError(err), osexec.ErrNotFound) {
		return true
	}
	code := exitCode(err)
	return code == 126 || code == 127
}
