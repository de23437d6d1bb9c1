// Package healthcheck serves the health checks of svccheck's Service proxy:
// per-Service health check node ports for externalTrafficPolicy Local
// Services (ServiceServer), which load balancers probe to learn whether a
// node has ready local endpoints and a proxy keeping its rules up to date,
// and the proxy's own /healthz (ProxyHealth).
// kube-proxy's pkg/proxy/healthcheck is the behavioural reference: same
// status codes, headers and JSON fields.
package healthcheck
