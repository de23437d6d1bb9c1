package ipsave

// TableName is an iptables table name such as "nat".
type TableName string

// Tables the tracer walks.
const (
	TableNAT    TableName = "nat"
	TableFilter TableName = "filter"
)

// ChainName is an iptables chain name.
type ChainName string

// Built-in chains.
const (
	ChainPrerouting  ChainName = "PREROUTING"
	ChainOutput      ChainName = "OUTPUT"
	ChainPostrouting ChainName = "POSTROUTING"
	ChainInput       ChainName = "INPUT"
	ChainForward     ChainName = "FORWARD"
)
