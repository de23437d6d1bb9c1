// Package probe sends test traffic inside a kind cluster and reports who
// answered. It runs `svccheck agent probe` from inside a pod (exec through the
// API server) or from inside a node (kind node exec), never from the host, and
// parses the agent's JSON into one Attempt per connection.
package probe
