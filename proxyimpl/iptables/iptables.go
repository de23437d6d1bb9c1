package iptables

import (
	"context"

	"github.com/svccheck/svccheck/proxyimpl/iptables/ipsave"
)

// Table is an iptables table name (the model of iptables-save text in
// package ipsave names tables with the same type).
type Table = ipsave.TableName

// Tables svccheck programs.
const (
	TableNAT    Table = "nat"
	TableFilter Table = "filter"
)

// TableAll asks Save for every table at once. On iptables-nft one
// iptables-save of every table costs about what one of a single table
// does: each run fetches the whole ruleset from the kernel.
const TableAll Table = ""

// Chain is an iptables chain name.
type Chain = ipsave.ChainName

// Built-in chains svccheck hooks into.
const (
	ChainPrerouting  Chain = "PREROUTING"
	ChainOutput      Chain = "OUTPUT"
	ChainPostrouting Chain = "POSTROUTING"
	ChainInput       Chain = "INPUT"
	ChainForward     Chain = "FORWARD"
)

// Backend is the kernel interface the iptables tools speak.
type Backend string

// Backends of iptables 1.8.
const (
	BackendLegacy Backend = "legacy"
	BackendNFT    Backend = "nft"
)

// Interface runs iptables commands for one host (or network namespace).
type Interface interface {
	// Backend reports which backend (legacy or nft) this runner's commands use.
	Backend() Backend
	// Restore feeds data, in iptables-restore format and possibly covering
	// several tables, to one "iptables-restore --noflush" run: chains the data
	// declares are flushed, everything else is left as it is. The kernel
	// applies each table atomically.
	Restore(ctx context.Context, data []byte) error
	// Save returns "iptables-save -t table" output, or that of every table
	// for TableAll, with packet and byte counters when counters is true.
	Save(ctx context.Context, table Table, counters bool) ([]byte, error)
	// EnsureChain creates chain in table if it does not exist yet.
	EnsureChain(ctx context.Context, table Table, chain Chain) error
	// EnsureRule makes sure the rule given by args (without -A/-I and chain)
	// is in chain, inserting it first if it is missing. It reports whether
	// the rule was already there.
	EnsureRule(ctx context.Context, table Table, chain Chain, args ...string) (bool, error)
	// DeleteRule deletes the rule given by args from chain; a missing rule or
	// chain is not an error.
	DeleteRule(ctx context.Context, table Table, chain Chain, args ...string) error
}
