package main

import (
	"context"
	"fmt"
	"strings"

	kubeproxyconfig "k8s.io/kubernetes/pkg/proxy/apis/config"

	"github.com/svccheck/svccheck/proxyimpl/iptables"
)

// impl is one proxy under test.
type impl struct {
	name string
	// backend is the iptables flavour put first in PATH ("" for none).
	backend string
	// nftables marks a proxy programming nftables rules, not iptables.
	nftables bool
	// reference names the kube-proxy rows this one is compared with.
	reference []string
	run       func(ctx context.Context, c cluster, partials int) (result, error)
}

var impls = []impl{
	{name: "kube-proxy-iptables-legacy", backend: "legacy", run: kube(kubeproxyconfig.ProxyModeIPTables)},
	{name: "svccheck-legacy", backend: "legacy", reference: []string{"kube-proxy-iptables-legacy"}, run: svc(iptables.BackendLegacy)},
	{name: "kube-proxy-iptables-nft", backend: "nft", run: kube(kubeproxyconfig.ProxyModeIPTables)},
	{name: "kube-proxy-nftables", backend: "nft", nftables: true, run: kube(kubeproxyconfig.ProxyModeNFTables)},
	{name: "svccheck-nft", backend: "nft", reference: []string{"kube-proxy-iptables-nft", "kube-proxy-nftables"}, run: svc(iptables.BackendNFT)},
}

func kube(mode kubeproxyconfig.ProxyMode) func(context.Context, cluster, int) (result, error) {
	return func(ctx context.Context, c cluster, partials int) (result, error) {
		return kubeProxyRun(ctx, mode, c, partials)
	}
}

func svc(b iptables.Backend) func(context.Context, cluster, int) (result, error) {
	return func(ctx context.Context, c cluster, partials int) (result, error) {
		return svccheckRun(ctx, b, c, partials)
	}
}

func implNames() []string {
	var out []string
	for _, im := range impls {
		out = append(out, im.name)
	}
	return out
}

func implByName(name string) (impl, bool) {
	for _, im := range impls {
		if im.name == name {
			return im, true
		}
	}
	return impl{}, false
}

func parseImpls(s string) ([]impl, error) {
	var out []impl
	for _, f := range strings.Split(s, ",") {
		im, ok := implByName(strings.TrimSpace(f))
		if !ok {
			return nil, fmt.Errorf("-impls: unknown proxy %q (known: %s)", f, strings.Join(implNames(), ", "))
		}
		out = append(out, im)
	}
	return out, nil
}
