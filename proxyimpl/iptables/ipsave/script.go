package ipsave

// Script is parsed iptables-restore input (or iptables-save output, which
// is restore input that only declares chains and appends rules).
type Script struct {
	// Tables are the "*table ... COMMIT" blocks in order.
	Tables []*TableScript
}

// TableScript is one "*table ... COMMIT" block.
type TableScript struct {
	Name TableName
	// Ops are the block's lines in order.
	Ops []Op
}

// OpKind is what one line of a table block does.
type OpKind string

// Operations of iptables-restore input.
const (
	// OpDeclare is ":CHAIN POLICY [p:b]": create the chain, or flush it
	// when it exists (and set the policy of a built-in chain).
	OpDeclare OpKind = ":"
	// OpAppend is "-A CHAIN rule".
	OpAppend OpKind = "-A"
	// OpInsert is "-I CHAIN [n] rule" (n defaults to 1).
	OpInsert OpKind = "-I"
	// OpDelete is "-D CHAIN rule" or "-D CHAIN n".
	OpDelete OpKind = "-D"
	// OpFlush is "-F [CHAIN]": flush one chain, or every chain.
	OpFlush OpKind = "-F"
	// OpNewChain is "-N CHAIN".
	OpNewChain OpKind = "-N"
	// OpDeleteChain is "-X [CHAIN]": delete one user chain, or every one.
	OpDeleteChain OpKind = "-X"
)

// Op is one line of a table block.
type Op struct {
	Kind OpKind
	// Chain is the chain the line names; empty for "-F" or "-X" alone.
	Chain ChainName
	// Policy and Counters are set for OpDeclare.
	Policy   string
	Counters *Counters
	// Num is the rule number of "-I CHAIN n" or "-D CHAIN n", 0 if none.
	Num int
	// Rule is the rule of -A, -I and -D (nil for "-D CHAIN n").
	Rule *Rule
}
