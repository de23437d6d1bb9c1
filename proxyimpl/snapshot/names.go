package snapshot

import (
	"crypto/sha256"
	"encoding/base32"
)

// Chain and list name prefixes. Every name svccheck creates starts with
// ChainPrefix and is at most 28 characters long.
const (
	// ChainPrefix starts every chain svccheck owns.
	ChainPrefix = "SVCCHK-"
	// SVCPrefix starts the per-port chains for internal traffic.
	SVCPrefix = ChainPrefix + "SVC-"
	// EXTPrefix starts the per-port chains for external traffic.
	EXTPrefix = ChainPrefix + "EXT-"
	// CLUPrefix starts the per-port chains holding all cluster endpoints of
	// a port whose internal traffic is node-local.
	CLUPrefix = ChainPrefix + "CLU-"
	// FWPrefix starts the per-port chains that let only a port's load
	// balancer source ranges through.
	FWPrefix = ChainPrefix + "FW-"
	// AffinityPrefix starts the xt_recent list names of ClientIP affinity.
	AffinityPrefix = ChainPrefix + "AFF-"
)

// hash16 returns the first 16 characters of the base32 encoding of the
// SHA-256 of s.
func hash16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// PortHash returns the hash that name's chains end with: 16 base32
// characters of sha256("namespace/name:port/protocol").
func PortHash(name ServicePortName) string {
	return hash16(name.String() + "/" + string(name.Protocol))
}

// setChains fills p's hash and chain names from its name.
func (p *ServicePort) setChains() {
	p.Hash = PortHash(p.Name)
	p.SVCChain = SVCPrefix + p.Hash
	p.EXTChain = EXTPrefix + p.Hash
	p.CLUChain = CLUPrefix + p.Hash
	p.FWChain = FWPrefix + p.Hash
}
