package app

import (
	"context"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/svccheck/svccheck/run"
)

// listNamespaces lists every namespace, sorted.
func listNamespaces(ctx context.Context, cs kubernetes.Interface, timeout time.Duration) ([]string, error) {
	return run.ListNamespaces(ctx, cs, timeout)
}

// writeDockerNetworks records the host's Docker networks in the dump, for
// doctor's range checks.
func writeDockerNetworks(ctx context.Context, dir string) error {
	return run.WriteDockerNetworks(ctx, dir)
}
