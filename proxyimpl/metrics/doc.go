// Package metrics holds the Prometheus metrics of svccheck's Service proxy:
// sync durations (full or partial), rules and chains written per table, the
// time of the last successful sync, sync failures and network programming
// latency. Metrics live in their own registry, never the global one, so
// several proxies (in tests) do not collide.
package metrics
